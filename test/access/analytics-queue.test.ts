// Install analytics are queued off the request path (src/store/analytics-batch.ts) — seen here
// through the real server over HTTPS: counts read right after a manifest fetch include it, a failed
// write leaves the server serving and is counted in the metrics, and a graceful shutdown writes
// what is still queued; alike fetches of one batch share a counted row yet each is its own
// install.started webhook event.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { shutdownGracefully } from '../../src/ops/graceful-shutdown.ts'
import { openDatabase } from '../../src/store/database.ts'
import { api } from '../support/api.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startHttpPeer, waitFor } from '../support/notify-peers.ts'
import { startServer, type TestServer } from '../support/server.ts'

async function serverWithBuild(t: Parameters<typeof startServer>[0], options: Parameters<typeof startServer>[1] = {}): Promise<{ server: TestServer; build: { id: string; manifestUrl: string } }> {
  const server = await startServer(t, options)
  const path = join(tempDir(t), 'queue.ipa')
  await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.queue' } })
  const upload = await server.upload(path)
  assert.equal(upload.status, 201, upload.text())
  return { server, build: upload.json() }
}

/** The install-analytics series of the app's metrics registry (what /metrics serves). */
async function queueMetrics(server: TestServer): Promise<Record<string, number>> {
  const text = await server.app.services.ops.metrics.registry.metrics()
  return Object.fromEntries([...text.matchAll(/^(airstrip_install_analytics_\S+) (\d+)$/gm)].map((match) => [match[1]!, Number(match[2])]))
}

test('counts read right after a manifest fetch or a page view include it: reads write the queue first', async (t) => {
  const { server, build } = await serverWithBuild(t)
  const call = api(server)
  for (let i = 0; i < 3; i++) assert.equal((await server.request(build.manifestUrl)).status, 200)
  assert.equal((await server.request(`${server.url}/i/${build.id}`)).status, 200)
  // No settled(), no waiting: the flush interval (100 ms) has most likely not passed yet.
  const counts = (await call('GET', `/api/v1/builds/${build.id}/analytics`)).body
  assert.deepEqual(counts.totals, { pageViews: 1, manifestFetches: 3, downloadsStarted: 0, downloadsCompleted: 0 })
  assert.equal((await call('GET', '/api/v1/apps/com.example.queue/analytics')).body.totals.manifestFetches, 3)
  // Deterministically: queued in this tick, read in this tick — only the read's own flush can write them.
  const { analytics } = server.app.services
  analytics.manifestFetched(build.id, null)
  analytics.manifestFetched(build.id, null)
  assert.equal(analytics.queueStats().queued, 2)
  assert.equal((await analytics.store.buildCounts(build.id)).totals.manifestFetches, 5)
  assert.equal((await analytics.store.appCounts('com.example.queue')).totals.manifestFetches, 5)
  assert.deepEqual(await queueMetrics(server), {
    'airstrip_install_analytics_records_total{outcome="written"}': 6,
    'airstrip_install_analytics_records_total{outcome="failed"}': 0,
    'airstrip_install_analytics_records_total{outcome="dropped"}': 0,
    airstrip_install_analytics_queued: 0,
  })
})

test('a failed analytics write keeps manifests served, is counted, and the next writes succeed', async (t) => {
  const { server, build } = await serverWithBuild(t)
  const analytics = server.app.services.analytics
  // Another connection to the server's database file takes the events table away, then gives it back.
  const other = new DatabaseSync(join(server.dataDir, 'airstrip.db'))
  t.after(() => other.close())
  other.exec('ALTER TABLE install_events RENAME TO install_events_away')
  assert.equal((await server.request(build.manifestUrl)).status, 200)
  await analytics.settled()
  assert.equal(analytics.queueStats().failed, 1)
  assert.equal((await server.request(build.manifestUrl)).status, 200, 'still serving')
  await analytics.settled()
  assert.equal(analytics.queueStats().failed, 2)
  other.exec('ALTER TABLE install_events_away RENAME TO install_events')
  assert.equal((await server.request(build.manifestUrl)).status, 200)
  const counts = (await api(server)('GET', `/api/v1/builds/${build.id}/analytics`)).body
  assert.equal(counts.totals.manifestFetches, 1, 'the two fetches of the failed writes are lost, the third is counted')
  assert.equal((await queueMetrics(server))['airstrip_install_analytics_records_total{outcome="failed"}'], 2)
})

test('a graceful shutdown writes what is still queued', async (t) => {
  const { server, build } = await serverWithBuild(t)
  const { app } = server
  for (let i = 0; i < 2; i++) assert.equal((await server.request(build.manifestUrl)).status, 200)
  // Queued in this very tick, so no interval can have written them before the shutdown below.
  for (let i = 0; i < 5; i++) app.services.analytics.manifestFetched(build.id, null)
  assert.ok(app.services.analytics.queueStats().queued >= 5)
  const outcome = await shutdownGracefully({ close: () => app.close(), server: app.server.server, log: { info() {}, warn() {} } }, 5000, 'SIGTERM')
  assert.equal(outcome, 'drained')

  const db = await openDatabase(join(server.dataDir, 'airstrip.db'))
  t.after(() => db.destroy())
  const rows = await db.selectFrom('install_events').select(['kind', 'count']).where('build_id', '=', build.id).execute()
  assert.deepEqual([...new Set(rows.map((row) => row.kind))], ['manifest'])
  assert.equal(rows.reduce((sum, row) => sum + Number(row.count), 0), 7, 'every fetch counted, alike ones in one row')
  assert.ok(rows.length <= 2, `alike fetches of one batch share a row (${rows.length} rows)`)
})

test('a burst of fetches of one build is one counted row per batch, and still one install.started webhook event each', async (t) => {
  const receiver = await startHttpPeer(t)
  const { server, build } = await serverWithBuild(t, { webhookAllowPrivateNetworks: true })
  const call = api(server)
  assert.equal((await call('POST', '/api/v1/apps/com.example.queue/webhooks', { url: `${receiver.url}/installs`, events: ['install.started'] })).status, 201)
  const fetches = await Promise.all(Array.from({ length: 40 }, () => server.request(build.manifestUrl)))
  assert.ok(fetches.every((response) => response.status === 200))
  const { analytics } = server.app.services
  await analytics.settled()
  assert.equal((await analytics.store.buildCounts(build.id)).totals.manifestFetches, 40)

  const db = await openDatabase(join(server.dataDir, 'airstrip.db'))
  t.after(() => db.destroy())
  const rows = await db.selectFrom('install_events').select(['id', 'count']).where('build_id', '=', build.id).where('kind', '=', 'manifest').execute()
  assert.equal(rows.reduce((sum, row) => sum + Number(row.count), 0), 40)
  assert.ok(rows.length < 40, `alike fetches shared rows (${rows.length} rows for 40 fetches)`)

  const started = await waitFor(() => {
    const bodies = receiver.requests.filter((r) => r.url === '/installs').map((r) => JSON.parse(r.body.toString()) as { id: string; type: string })
    return bodies.length >= 40 && bodies
  }, '40 install.started deliveries')
  assert.equal(started.length, 40)
  assert.ok(started.every((body) => body.type === 'install.started'))
  assert.equal(new Set(started.map((body) => body.id)).size, 40, 'each fetch is its own event')
})
