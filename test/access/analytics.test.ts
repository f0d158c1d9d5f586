// Install analytics from real downloads over HTTPS through the signed URL: a whole download, one in
// overlapping out-of-order ranges, one cut off and resumed the way iOS resumes, one left unfinished;
// counted per build and tester, and reported to webhooks as install.started / install.completed.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { get as httpsGet } from 'node:https'
import { join } from 'node:path'
import { test } from 'node:test'
import { api } from '../support/api.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startHttpPeer, waitFor } from '../support/notify-peers.ts'
import { startServer } from '../support/server.ts'
import { assetsOf } from './access-helpers.ts'

test('downloads count as started once per download and completed once every byte was sent, ranges combined', { timeout: 60_000 }, async (t) => {
  const receiver = await startHttpPeer(t)
  const server = await startServer(t, { webhookAllowPrivateNetworks: true, notifyRetryBaseMs: '40', notifyRetryMaxMs: '200' })
  const call = api(server)
  const path = join(tempDir(t), 'analytics.ipa')
  await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.analytics' }, files: [{ name: 'payload.bin', data: randomBytes(3 * 1024 * 1024) }] })
  const hook = await call('POST', '/api/v1/apps/com.example.analytics/webhooks', { url: `${receiver.url}/installs`, events: ['install.started', 'install.completed'] })
  assert.equal(hook.status, 201, JSON.stringify(hook.body))
  assert.equal((await call('POST', '/api/v1/apps/com.example.analytics/webhooks', { url: `${receiver.url}/slack`, format: 'slack', events: ['install.completed'] })).status, 201)
  const build = (await server.upload(path)).json()
  const size: number = build.size

  assert.equal((await server.request(`${server.url}/i/${build.id}`)).status, 200)
  const device = (name: string) => ({ 'user-agent': `${name} CFNetwork/1568 Darwin/24.0.0` })
  const { ipa } = assetsOf(await server.request(build.manifestUrl, { headers: device('itunesstored/1') }))

  // 1: the whole file at once (and a HEAD, which sends nothing).
  assert.equal((await server.request(ipa, { method: 'HEAD', headers: device('one') })).status, 200)
  assert.equal((await server.request(ipa, { headers: device('one') })).body.length, size)

  // 2: overlapping ranges, out of order, that together cover the file.
  assert.equal((await server.request(build.manifestUrl, { headers: device('itunesstored/2') })).status, 200)
  for (const range of [`bytes=${size - 1000}-`, 'bytes=0-999999', `bytes=900000-${size - 500}`]) {
    assert.equal((await server.request(ipa, { headers: { ...device('two'), range } })).status, 206, range)
  }

  // 3: cut off after ~1 MiB, then resumed from the bytes that arrived.
  const received = await new Promise<number>((resolve, reject) => {
    const ca = `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`
    const request = httpsGet(ipa, { ca, agent: false, headers: device('three') }, (response) => {
      let bytes = 0
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (bytes >= 1024 * 1024) {
          request.destroy()
          resolve(bytes)
        }
      })
    })
    request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
  })
  await server.app.services.analytics.settled()
  assert.equal((await call('GET', `/api/v1/builds/${build.id}/analytics`)).body.totals.downloadsCompleted, 2, 'a cut-off download is not complete')
  const rest = await server.request(ipa, { headers: { ...device('three'), range: `bytes=${received}-` } })
  assert.equal(rest.body.length, size - received)

  // 4: a piece only.
  assert.equal((await server.request(ipa, { headers: { ...device('four'), range: 'bytes=0-99' } })).status, 206)

  // The server learns how much of the cut-off response it sent when it sees the connection close: wait for that.
  const counts = await waitFor(async () => {
    await server.app.services.analytics.settled()
    const body = (await call('GET', `/api/v1/builds/${build.id}/analytics`)).body
    return body.totals.downloadsCompleted === 3 && body
  }, 'the cut-off download to be completed by its resumption')
  assert.deepEqual(counts.totals, { pageViews: 1, manifestFetches: 2, downloadsStarted: 4, downloadsCompleted: 3 })
  assert.deepEqual(counts.testers, [], 'public links belong to no tester')
  const app = (await call('GET', `/api/v1/apps/com.example.analytics/analytics`)).body
  assert.deepEqual(app.builds.map((b: { buildId: string; downloadsCompleted: number }) => [b.buildId, b.downloadsCompleted]), [[build.id, 3]])

  const events = await waitFor(() => {
    const bodies = receiver.requests.filter((r) => r.url === '/installs').map((r) => JSON.parse(r.body.toString()) as { type: string; data: any })
    return bodies.filter((b) => b.type === 'install.completed').length === 3 && bodies.filter((b) => b.type === 'install.started').length === 2 && bodies
  }, 'install webhooks')
  const completed = events.find((e) => e.type === 'install.completed')!
  assert.deepEqual(completed.data, {
    app: { id: build.app.id, bundleId: 'com.example.analytics', name: build.app.name },
    build: { id: build.id, version: build.version, build: build.build, channel: 'main' },
    tester: null,
    bytes: size,
  })
  assert.ok(!JSON.stringify(events).includes('/d/'), 'no signed links in webhook bodies')
  const slack = await waitFor(() => receiver.requests.filter((r) => r.url === '/slack').length === 3 && receiver.requests.find((r) => r.url === '/slack'), 'slack messages')
  assert.match(JSON.parse(slack.body.toString()).text, /^Someone downloaded /)
})
