// Webhooks to a real HTTP receiver on loopback: HMAC signature, headers, retries with backoff
// (the receiver fails the first two attempts), give-up after max attempts, presets, SSRF refusal.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { api } from '../support/api.ts'
import { fixture } from '../support/fixtures.ts'
import { startHttpPeer, waitFor } from '../support/notify-peers.ts'
import { startServer } from '../support/server.ts'

const FAST_RETRIES = { webhookAllowPrivateNetworks: true, notifyRetryBaseMs: '40', notifyRetryMaxMs: '200' } as const

/** What a receiver does to check X-Airstrip-Signature, written independently of src/notify. */
function expectedSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex')}`
}

test('build.created is signed, retried after two failures with the same delivery id, and marked delivered', async (t) => {
  const receiver = await startHttpPeer(t, (_request, index) => (index < 2 ? 503 : 200))
  const server = await startServer(t, FAST_RETRIES)
  const call = api(server)
  const created = await call('POST', '/api/v1/apps/com.samsoffes.Sample/webhooks', { url: `${receiver.url}/hooks/airstrip`, events: ['build.created', 'build.deleted'] })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const { secret, id: webhookId } = created.body
  assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/)
  const shown = await call('GET', `/api/v1/webhooks/${webhookId}`)
  assert.equal(shown.body.secret, undefined, 'the secret is never shown again')
  assert.ok(!JSON.stringify((await call('GET', '/api/v1/apps/com.samsoffes.Sample/webhooks')).body).includes(secret))

  const build = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'), { notes: 'Nightly "build"' })).json()
  const delivery = await waitFor(async () => {
    const [first] = (await call('GET', `/api/v1/deliveries?buildId=${build.id}`)).body.deliveries
    return first?.status === 'delivered' && first
  }, 'the webhook delivered')
  assert.equal(delivery.attempts, 3)
  assert.equal(delivery.channel, 'webhook')
  assert.equal(delivery.webhookId, webhookId)
  assert.equal(receiver.requests.length, 3)
  assert.deepEqual(receiver.requests.map((r) => r.status), [503, 503, 200])

  for (const request of receiver.requests) {
    assert.equal(request.method, 'POST')
    assert.equal(request.url, '/hooks/airstrip')
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers['x-airstrip-event'], 'build.created')
    assert.equal(request.headers['x-airstrip-delivery'], delivery.id, 'the same delivery id on every attempt')
    assert.equal(request.headers['x-airstrip-signature'], expectedSignature(secret, request.body))
    assert.ok(request.body.equals(receiver.requests[0]!.body), 'every attempt sends the same bytes')
  }
  const event = JSON.parse(receiver.requests[0]!.body.toString('utf8'))
  assert.equal(event.type, 'build.created')
  assert.equal(event.id, delivery.eventId)
  assert.equal(event.data.build.id, build.id)
  assert.equal(event.data.build.notes, 'Nightly "build"')
  assert.equal(event.data.app.bundleId, 'com.samsoffes.Sample')
  assert.equal(event.data.installPageUrl, build.installPageUrl)
  assert.ok(!receiver.requests[0]!.body.toString().includes('itms-services'), 'no signed links in webhook bodies')

  // A tampered body does not verify.
  assert.notEqual(receiver.requests[0]!.headers['x-airstrip-signature'], expectedSignature(secret, Buffer.concat([receiver.requests[0]!.body, Buffer.from(' ')])))

  assert.equal((await call('DELETE', `/api/v1/builds/${build.id}`)).status, 204)
  const deleted = await waitFor(() => receiver.requests.find((r) => r.headers['x-airstrip-event'] === 'build.deleted'), 'build.deleted')
  assert.equal(JSON.parse(deleted.body.toString()).data.build.id, build.id)
  assert.equal(deleted.headers['x-airstrip-signature'], expectedSignature(secret, deleted.body))
})

test('a receiver that keeps failing gets exactly max attempts, then the delivery is failed; retry sends it again', async (t) => {
  const receiver = await startHttpPeer(t, () => 500)
  const server = await startServer(t, { ...FAST_RETRIES, notifyMaxAttempts: '3' })
  const call = api(server)
  await call('POST', '/api/v1/apps/com.samsoffes.Sample/webhooks', { url: receiver.url })
  const build = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))).json()
  const failed = await waitFor(async () => {
    const [first] = (await call('GET', `/api/v1/deliveries?buildId=${build.id}&status=failed`)).body.deliveries
    return first
  }, 'the delivery to fail')
  assert.equal(failed.attempts, 3)
  assert.match(failed.lastError, /answered 500/)
  assert.equal(receiver.requests.length, 3)

  receiver.respond = () => 200
  const retried = await call('POST', `/api/v1/deliveries/${failed.id}/retry`)
  assert.equal(retried.status, 200)
  assert.equal(retried.body.attempts, 0)
  await waitFor(async () => (await call('GET', `/api/v1/deliveries/${failed.id}`)).body.status === 'delivered', 'the retried delivery')
  assert.equal(receiver.requests.length, 4)
  assert.equal((await call('POST', `/api/v1/deliveries/${failed.id}/retry`)).status, 400, 'a delivered delivery is not sent twice')
})

test('Slack and Teams presets get their own message shapes', async (t) => {
  const receiver = await startHttpPeer(t)
  const server = await startServer(t, FAST_RETRIES)
  const call = api(server)
  for (const format of ['slack', 'teams']) {
    assert.equal((await call('POST', '/api/v1/apps/com.samsoffes.Sample/webhooks', { url: `${receiver.url}/${format}`, format, events: ['build.created'] })).status, 201)
  }
  const build = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'), { notes: 'Fixes <crash> & more' })).json()
  await waitFor(() => receiver.requests.length === 2, 'both presets')
  const slack = JSON.parse(receiver.requests.find((r) => r.url === '/slack')!.body.toString())
  assert.equal(slack.text, `Sample 2.2 (13) is ready to install: ${build.installPageUrl}`)
  assert.equal(slack.blocks[1].text.text, 'Fixes &lt;crash&gt; &amp; more', 'mrkdwn control characters escaped')
  assert.deepEqual(slack.blocks.at(-1).elements[0].url, build.installPageUrl)
  const teams = JSON.parse(receiver.requests.find((r) => r.url === '/teams')!.body.toString())
  assert.equal(teams.type, 'message')
  assert.equal(teams.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive')
  assert.equal(teams.attachments[0].content.type, 'AdaptiveCard')
  assert.equal(teams.attachments[0].content.actions[0].url, build.installPageUrl)
})

test('webhooks to loopback or private addresses are refused unless allowed', async (t) => {
  const receiver = await startHttpPeer(t)
  const server = await startServer(t)
  const call = api(server)
  for (const url of [receiver.url, 'http://localhost:9/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://10.0.0.8/', 'ftp://example.com/', 'https://user:pw@example.com/']) {
    const refused = await call('POST', '/api/v1/apps/com.samsoffes.Sample/webhooks', { url })
    assert.equal(refused.status, 422, url)
    assert.equal(refused.body.error, 'webhook-url-refused')
  }
  assert.equal((await call('POST', '/api/v1/apps/com.samsoffes.Sample/webhooks', { url: receiver.url, events: ['build.nope'] })).status, 400)
  assert.equal((await call('GET', '/api/v1/webhooks')).status, 404)
  assert.equal(receiver.requests.length, 0)
})

test('device.enrolled (called by the devices feature) reaches every webhook subscribed to it, once per enrolment', async (t) => {
  const receiver = await startHttpPeer(t)
  const server = await startServer(t, FAST_RETRIES)
  const call = api(server)
  const subscribed = (await call('POST', '/api/v1/apps/com.example.one/webhooks', { url: `${receiver.url}/one`, events: ['device.enrolled'] })).body
  await call('POST', '/api/v1/apps/com.example.two/webhooks', { url: `${receiver.url}/two`, events: ['build.created'] })
  const device = { id: 'dev1', udid: '00008110-000A1B2C3D4E5F60', name: "Jane's iPhone", model: 'iPhone 15', osVersion: '18.1', enrolledAt: '2026-11-26T10:00:00.000Z' }
  await server.app.services.notifications.deviceEnrolled(device)
  await server.app.services.notifications.deviceEnrolled(device) // the same enrolment reported twice
  await server.app.services.notifications.deviceEnrolled({ ...device, enrolledAt: '2026-11-27T10:00:00.000Z' })
  await waitFor(() => receiver.requests.length === 2, 'two enrolments')
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(receiver.requests.length, 2)
  for (const request of receiver.requests) {
    assert.equal(request.url, '/one')
    assert.equal(request.headers['x-airstrip-event'], 'device.enrolled')
    assert.equal(request.headers['x-airstrip-signature'], expectedSignature(subscribed.secret, request.body))
    assert.equal(JSON.parse(request.body.toString()).data.device.udid, device.udid)
  }
})
