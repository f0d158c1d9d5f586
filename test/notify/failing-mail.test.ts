// A failing mail server never slows or fails an upload: one that hangs mid-conversation, one that
// refuses the recipient, one that is not there at all. The uploads answer 201 while the mail is
// stuck; the deliveries record what happened.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixture } from '../support/fixtures.ts'
import { startSilentSmtpPeer, startSmtpPeer, waitFor } from '../support/notify-peers.ts'
import { freePort, startServer, type TestServer } from '../support/server.ts'

const APP = 'com.samsoffes.Sample'

async function subscribeTester(server: TestServer, email: string): Promise<void> {
  const headers = { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }
  const tester = await server.request(`${server.url}/api/v1/testers`, { method: 'POST', headers, body: JSON.stringify({ name: 'Tess', email }) })
  const settings = await server.request(`${server.url}/api/v1/apps/${APP}/notifications`, {
    method: 'PATCH',
    headers,
    body: JSON.stringify({ addTesterIds: [tester.json().id], notifyOnUpload: 'always' }),
  })
  assert.equal(settings.status, 200)
}

async function emailDeliveries(server: TestServer, buildId: string) {
  const response = await server.request(`${server.url}/api/v1/deliveries?buildId=${buildId}&channel=email`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  return response.json().deliveries as Array<{ status: string; attempts: number; lastError: string | null }>
}

test('uploads complete while the mail server hangs in the middle of a send', async (t) => {
  const silent = await startSilentSmtpPeer(t)
  const server = await startServer(t, { smtpUrl: silent.url })
  await subscribeTester(server, 'tess@example.test')

  const first = await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))
  assert.equal(first.status, 201)
  // The worker is now inside an SMTP conversation that will not progress (no greeting, ever)…
  await waitFor(() => silent.openSockets() > 0, 'the mail send to start')
  const [sending] = await emailDeliveries(server, first.json().id)
  assert.equal(sending?.status, 'sending')

  // …and uploads go on regardless: each is answered while that send is still stuck.
  for (let i = 0; i < 3; i++) {
    const next = await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))
    assert.equal(next.status, 201, next.text())
    assert.equal((await emailDeliveries(server, next.json().id)).length, 1, 'its mail is queued, not sent inline')
    assert.ok(silent.openSockets() > 0, 'the first mail is still stuck')
  }
  assert.equal((await emailDeliveries(server, first.json().id))[0]?.status, 'sending')
  await silent.close()
})

test('a mail server that refuses the recipient fails the delivery for good, and the upload is unaffected', async (t) => {
  const refusing = await startSmtpPeer(t, { rejectRecipients: 550 })
  const server = await startServer(t, { smtpUrl: refusing.url })
  await subscribeTester(server, 'nobody@example.test')
  const upload = await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))
  assert.equal(upload.status, 201)
  const [failed] = await waitFor(async () => {
    const list = await emailDeliveries(server, upload.json().id)
    return list[0]?.status === 'failed' && list
  }, 'the refusal')
  assert.equal(failed!.attempts, 1, 'a 5xx refusal is final: no retries')
  assert.match(failed!.lastError ?? '', /550/)
  assert.equal(refusing.messages.length, 0)
})

test('a mail server that is down: the upload succeeds and the mail waits for a retry', async (t) => {
  const nothingThere = await freePort()
  const server = await startServer(t, { smtpUrl: `smtp://127.0.0.1:${nothingThere}`, notifyRetryBaseMs: '60000' })
  await subscribeTester(server, 'tess@example.test')
  const upload = await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))
  assert.equal(upload.status, 201)
  const [waiting] = await waitFor(async () => {
    const list = await emailDeliveries(server, upload.json().id)
    return list[0]?.attempts === 1 && list[0].status === 'pending' && list
  }, 'the first attempt')
  assert.match(waiting!.lastError ?? '', /ECONNREFUSED|connect/i)
})
