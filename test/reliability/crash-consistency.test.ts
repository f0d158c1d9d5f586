// Crash consistency: the real server (`airstrip serve` as a child process) takes 20 concurrent
// uploads and downloads and is killed with SIGKILL at seeded random moments, several rounds, some
// of them again while it starts up. After every restart: each upload that got a 201 is there and
// byte-identical, no build lacks its blob and no blob lacks a build (startup recovery), no temp
// file is left, and SQLite's integrity check passes. The notification outbox loses nothing: every
// recorded build's webhook delivery arrives, and one that arrives twice was cut short by a kill
// mid-send (at-least-once in exactly that case, as src/notify promises; the delivery id is stable).
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { waitFor } from '../support/notify-peers.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { createRandom } from './fuzz/random.ts'
import { recordResult } from './support/results.ts'
import { cli, downloadSha256, inspectDataDir, spawnServer, upload, type ServerProcess } from './support/server-process.ts'

const SEED = Number(process.env['AIRSTRIP_CRASH_SEED'] ?? 424242)
const ROUNDS = Number(process.env['AIRSTRIP_CRASH_ROUNDS'] ?? 6)
const CONCURRENT = 20
const UPLOADS_PER_ROUND = 14
const APPS = ['com.example.crash.alpha', 'com.example.crash.beta', 'com.example.crash.gamma'] as const

interface Acknowledged {
  id: string
  sha256: string
  round: number
}

/** A webhook receiver that answers after a random delay, so kills land while deliveries are in flight. */
async function startSlowReceiver(t: { after(fn: () => unknown): void }, random: ReturnType<typeof createRandom>) {
  const received: Array<{ delivery: string; event: string }> = []
  const server = createServer((req: IncomingMessage, res) => {
    req.resume()
    req.on('end', () => {
      setTimeout(() => {
        received.push({ delivery: String(req.headers['x-airstrip-delivery']), event: String(req.headers['x-airstrip-event']) })
        res.writeHead(200).end('ok')
      }, random.int(150))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received }
}

test(`crash consistency: ${ROUNDS} rounds of ${CONCURRENT} concurrent uploads and downloads, SIGKILL at random moments (seed ${SEED})`, { timeout: 240_000 }, async (t) => {
  const random = createRandom(SEED)
  const dataDir = tempDir(t, 'airstrip-crash-')
  const work = tempDir(t, 'airstrip-crash-files-')
  const [port] = (await freeLoopbackPorts(1)) as [number]
  const token = (await cli(['token', 'create', '--name', 'crash-test', '--data-dir', dataDir])).trim()
  const receiver = await startSlowReceiver(t, createRandom(SEED + 1))
  for (const app of APPS) await cli(['webhooks', 'add', '--app', app, '--url', receiver.url, '--data-dir', dataDir, '--webhook-allow-private-networks'])
  const serverArgs = ['--webhook-allow-private-networks', '--notify-retry-base-ms', '200', '--notify-retry-max-ms', '1000', '--shutdown-timeout', '5']

  // Distinct .ipa files (random, incompressible padding), some uploaded twice (the dedup path).
  const files: Array<{ path: string; sha256: string }> = []
  const makeIpa = async (n: number): Promise<{ path: string; sha256: string }> => {
    const path = join(work, `upload-${n}.ipa`)
    await buildIpa(path, { info: { CFBundleIdentifier: APPS[n % APPS.length], CFBundleVersion: String(n) }, files: [{ name: 'padding.bin', data: randomBytes(random.between(64, 3072) * 1024) }] })
    return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }
  }

  const acknowledged: Acknowledged[] = []
  const figures = { rounds: ROUNDS, kills: 0, killsDuringStartup: 0, uploadsStarted: 0, uploadsAcknowledged: 0, uploadsCut: 0, downloadsStarted: 0, downloadsCompleted: 0, downloadsCut: 0, maxInFlightAtKill: 0, buildsRecordedWithout201: 0, verifiedDownloads: 0, backupBuilds: 0 }

  const recovered = { tempFilesRemoved: 0, orphanBlobsRemoved: 0, buildsAnnounced: 0 }
  const checkAtRest = async (server: ServerProcess, when: string, verifyAll: boolean): Promise<void> => {
    // What startup recovery repaired, from its log line (src/store/startup-recovery.ts).
    for (const line of server.output().split('\n').filter((l) => l.includes('recovered what an interrupted run left behind'))) {
      const report = JSON.parse(line) as typeof recovered
      for (const key of Object.keys(recovered) as Array<keyof typeof recovered>) recovered[key] += report[key]
    }
    const state = inspectDataDir(dataDir)
    assert.equal(state.integrity, 'ok', `${when}: PRAGMA integrity_check`)
    assert.deepEqual(state.buildsWithoutBlob, [], `${when}: builds without their blob`)
    assert.deepEqual(state.blobsWithoutBuild, [], `${when}: blobs without a build (startup recovery should have removed them)`)
    assert.deepEqual(state.tempFiles, [], `${when}: temp files left`)
    const recorded = new Map(state.builds.map((b) => [b.id, b.sha256]))
    for (const ack of acknowledged) assert.equal(recorded.get(ack.id), ack.sha256, `${when}: acknowledged build ${ack.id} (round ${ack.round}) is missing or changed`)
    const toVerify = verifyAll ? acknowledged : acknowledged.filter((a) => a.round === Math.max(...acknowledged.map((x) => x.round)))
    for (const ack of toVerify) {
      assert.equal(await downloadSha256(server, token, ack.id), ack.sha256, `${when}: download of ${ack.id} is not byte-identical`)
      figures.verifiedDownloads++
    }
  }

  for (let round = 0; round < ROUNDS; round++) {
    const roundFiles: Array<{ path: string; sha256: string }> = []
    for (let i = 0; i < UPLOADS_PER_ROUND; i++) {
      const file = files.length > 3 && random.chance(0.15) ? random.pick(files) : await makeIpa(files.length)
      if (!files.includes(file)) files.push(file)
      roundFiles.push(file)
    }
    const server = await spawnServer(t, dataDir, port, serverArgs)
    await checkAtRest(server, `round ${round}, after restart`, false)

    let inFlight = 0
    const operations: Array<Promise<void>> = []
    for (let i = 0; i < CONCURRENT; i++) {
      const file = roundFiles[i] ?? (acknowledged.length === 0 ? random.pick(roundFiles) : null)
      inFlight++
      if (file) {
        figures.uploadsStarted++
        operations.push(
          upload(server, token, file.path).then(
            (reply) => {
              if (reply.status === 201) {
                const body = JSON.parse(reply.body.toString()) as { id: string; sha256: string }
                assert.equal(body.sha256, file.sha256)
                acknowledged.push({ id: body.id, sha256: body.sha256, round })
                figures.uploadsAcknowledged++
              } else {
                assert.fail(`an upload was refused with ${reply.status}: ${reply.body}`)
              }
            },
            () => void figures.uploadsCut++,
          ).finally(() => void inFlight--),
        )
      } else {
        figures.downloadsStarted++
        const target = random.pick(acknowledged)
        operations.push(
          downloadSha256(server, token, target.id).then(
            (sha256) => {
              assert.equal(sha256, target.sha256, 'a completed download is byte-identical')
              figures.downloadsCompleted++
            },
            () => void figures.downloadsCut++,
          ).finally(() => void inFlight--),
        )
      }
    }
    // The kill lands anywhere from the first bytes to after most uploads finished: early in even
    // rounds (uploads in flight), late in odd ones (most acknowledged, downloads and the outbox busy).
    await sleep(round % 2 === 0 ? random.between(20, 400) : random.between(400, 2500))
    figures.maxInFlightAtKill = Math.max(figures.maxInFlightAtKill, inFlight)
    await server.kill9()
    figures.kills++
    await Promise.all(operations)

    if (random.chance(0.35)) {
      // Killed again during start-up: migrations, key loading, recovery itself.
      const starting = await spawnServer(t, dataDir, port, serverArgs, { waitHealthy: false })
      await sleep(random.between(50, 900))
      await starting.kill9()
      figures.kills++
      figures.killsDuringStartup++
    }
  }

  const final = await spawnServer(t, dataDir, port, serverArgs)
  await checkAtRest(final, 'final restart', true)

  // `airstrip backup` while uploads run: the archive restores (restore re-checks every hash and
  // the integrity) into a data dir that is consistent on its own.
  const during = await Promise.all([0, 1, 2, 3].map(() => makeIpa(files.length + Math.floor(random.next() * 1e6))))
  const backupFile = join(work, 'during-uploads.tar')
  const [, ...uploads] = await Promise.all([cli(['backup', backupFile, '--data-dir', dataDir]), ...during.map((file) => upload(final, token, file.path))])
  for (const reply of uploads) {
    assert.equal(reply.status, 201, reply.body.toString())
    const body = JSON.parse(reply.body.toString()) as { id: string; sha256: string }
    acknowledged.push({ id: body.id, sha256: body.sha256, round: ROUNDS })
  }
  const restored = join(work, 'restored')
  await cli(['restore', backupFile, '--data-dir', restored])
  const copy = inspectDataDir(restored)
  assert.equal(copy.integrity, 'ok')
  assert.deepEqual(copy.buildsWithoutBlob, [], 'the backup has every blob its builds need')
  assert.deepEqual(copy.blobsWithoutBuild, [])
  const live = new Set(inspectDataDir(dataDir).builds.map((b) => b.id))
  assert.ok(copy.builds.every((b) => live.has(b.id)), 'the backup holds no build the server does not')
  figures.backupBuilds = copy.builds.length
  assert.equal(await final.stop(), 0, 'a graceful stop after recovery')
  assert.ok(figures.uploadsAcknowledged >= 5, `enough uploads completed to mean something: ${JSON.stringify(figures)}`)
  assert.ok(figures.uploadsCut >= 1, `some uploads were cut by a kill: ${JSON.stringify(figures)}`)

  // The outbox, drained by an instance whose clock is past every lease a killed server held.
  const config = loadConfig({ dataDir, host: '127.0.0.1', port: '1', insecureHttp: true, publicUrl: 'http://127.0.0.1:1', logLevel: 'silent', webhookAllowPrivateNetworks: true, notifyRetryBaseMs: '100', notifyRetryMaxMs: '500' })
  const app = await createApp(config, { now: () => new Date(Date.now() + 10 * 60_000), notify: { worker: { idlePollMs: 50 } } })
  const db = new DatabaseSync(join(dataDir, 'airstrip.db'), { readOnly: true })
  try {
    await waitFor(() => (db.prepare("select count(*) as n from notification_deliveries where status in ('pending', 'sending')").get() as { n: number }).n === 0, 'the outbox to drain', 60_000)
    const builds = db.prepare('select id from builds').all() as Array<{ id: string }>
    // Every webhook delivery the outbox recorded: build.created for each build, and the install events of completed downloads.
    const deliveries = db.prepare("select d.id, d.status, d.attempts, e.type, e.event_key from notification_deliveries d join notification_events e on e.id = d.event_id where d.channel = 'webhook'").all() as Array<{ id: string; status: string; attempts: number; type: string; event_key: string }>
    figures.buildsRecordedWithout201 = builds.length - new Set(acknowledged.map((a) => a.id)).size
    const created = new Map(deliveries.filter((d) => d.type === 'build.created').map((d) => [d.event_key.slice('build.created:'.length), d]))
    const times = new Map<string, number>()
    for (const r of receiver.received) times.set(r.delivery, (times.get(r.delivery) ?? 0) + 1)
    for (const { id } of builds) assert.ok(created.has(id), `build ${id} has its build.created delivery (recovery announces builds a kill left unannounced)`)
    assert.equal(created.size, builds.length, 'no build.created delivery for a build that does not exist')
    let duplicates = 0
    for (const delivery of deliveries) {
      assert.equal(delivery.status, 'delivered', `${delivery.type} delivery ${delivery.id}`)
      const count = times.get(delivery.id) ?? 0
      assert.ok(count >= 1, `the receiver got ${delivery.type} delivery ${delivery.id}`)
      if (count > 1) {
        duplicates += count - 1
        assert.ok(delivery.attempts >= count, `delivery ${delivery.id} arrived ${count} times in ${delivery.attempts} attempts: only a send cut short by a kill repeats`)
      }
    }
    assert.equal(receiver.received.length, deliveries.length + duplicates, 'every request the receiver got is a recorded delivery')
    const byType: Record<string, number> = {}
    for (const d of deliveries) byType[d.type] = (byType[d.type] ?? 0) + 1
    recordResult('crash-consistency', { seed: SEED, ...figures, recovered, builds: builds.length, webhookDeliveries: deliveries.length, webhookDeliveriesByType: byType, webhookRequestsReceived: receiver.received.length, duplicateWebhookRequests: duplicates })
  } finally {
    db.close()
    await app.close()
  }
})
