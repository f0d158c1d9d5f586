// SMS through a configurable HTTP provider (a real HTTP server on loopback plays the provider):
// the Twilio-compatible form POST preset and the generic JSON template.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixture } from '../support/fixtures.ts'
import { startHttpPeer, waitFor } from '../support/notify-peers.ts'
import { startServer, type TestServer } from '../support/server.ts'

async function textTester(server: TestServer, phone: string): Promise<void> {
  const headers = { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }
  const tester = (await server.request(`${server.url}/api/v1/testers`, { method: 'POST', headers, body: JSON.stringify({ name: 'Pat', email: 'pat@example.test', phone }) })).json()
  await server.request(`${server.url}/api/v1/apps/com.samsoffes.Sample/notifications`, { method: 'PATCH', headers, body: JSON.stringify({ addTesterIds: [tester.id] }) })
}

test('twilio preset: form POST To/From/Body with Basic auth; the text carries the install page link', async (t) => {
  // The first answer is a provider hiccup: the text is retried, not lost.
  const provider = await startHttpPeer(t, (_request, index) => (index === 0 ? 429 : 201))
  const server = await startServer(t, {
    smsProvider: 'twilio',
    smsUrl: `${provider.url}/2010-04-01/Accounts/AC123/Messages.json`,
    smsAuth: 'AC123:secret-token',
    smsFrom: '+15005550006',
    notifyRetryBaseMs: '30',
  })
  await textTester(server, '+44 7700 900123')
  const build = (await server.upload(`${fixture('ipa', 'lagunitas-Sample.ipa')}`, { notes: 'ignored in texts' })).json()
  const notifyUrl = `${server.url}/api/v1/builds?notify=true`
  const notified = await server.request(notifyUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' },
    body: await import('node:fs/promises').then((fs) => fs.readFile(fixture('ipa', 'lagunitas-Sample.ipa'))),
  })
  assert.equal(notified.status, 201)
  assert.notEqual(notified.json().id, build.id)
  await waitFor(() => provider.requests.length === 2, 'the retried text')
  for (const request of provider.requests) {
    assert.equal(request.url, '/2010-04-01/Accounts/AC123/Messages.json')
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded')
    assert.equal(request.headers.authorization, `Basic ${Buffer.from('AC123:secret-token').toString('base64')}`)
    const form = Object.fromEntries(new URLSearchParams(request.body.toString()))
    assert.deepEqual(form, { To: '+447700900123', From: '+15005550006', Body: `Sample 2.2 (13) is ready: ${notified.json().installPageUrl}` })
  }
  const delivery = await waitFor(async () => {
    const response = await server.request(`${server.url}/api/v1/deliveries?channel=sms`, { headers: { authorization: `Bearer ${server.apiToken}` } })
    const [first] = response.json().deliveries
    return first?.status === 'delivered' && first
  }, 'the SMS delivery')
  assert.equal(delivery.recipient, '+447700900123')
  assert.equal(delivery.attempts, 2)
})

test('json preset: the template filled with to/from/text, Authorization as configured', async (t) => {
  const provider = await startHttpPeer(t)
  const server = await startServer(t, {
    smsProvider: 'json',
    smsUrl: `${provider.url}/v1/messages`,
    smsAuth: 'Bearer sms-key',
    smsFrom: 'Airstrip',
    smsJsonTemplate: '{"messages":[{"destination":"{{to}}","source":"{{from}}","content":{"text":"{{text}}"}}]}',
  })
  await textTester(server, '+15551234567')
  const headers = { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }
  await server.request(`${server.url}/api/v1/apps/com.samsoffes.Sample/notifications`, { method: 'PATCH', headers, body: JSON.stringify({ notifyOnUpload: 'always' }) })
  const build = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))).json()
  const request = await waitFor(() => provider.requests[0], 'the text')
  assert.equal(request.headers.authorization, 'Bearer sms-key')
  assert.equal(request.headers['content-type'], 'application/json')
  assert.deepEqual(JSON.parse(request.body.toString()), {
    messages: [{ destination: '+15551234567', source: 'Airstrip', content: { text: `Sample 2.2 (13) is ready: ${build.installPageUrl}` } }],
  })
})
