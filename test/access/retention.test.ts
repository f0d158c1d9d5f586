// Retention over the real server and the real command line: a dry run first (nothing moves), then
// the run removes exactly the builds the rule lets go (never the newest, never one marked "keep")
// and the blobs no build references any more, nothing else.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { api } from '../support/api.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { uploadTo } from './access-helpers.ts'

const DAY = 24 * 60 * 60 * 1000
const START = new Date('2026-06-01T12:00:00.000Z')

function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, 'blobs', 'sha256')
  return existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name).sort() : []
}
const blobPath = (server: TestServer, sha256: string) => join(server.dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256)

function cli(server: TestServer) {
  return (...args: string[]): Promise<CliRun> => runCli([...args, '--data-dir', server.dataDir, '--public-url', server.url])
}

test('retention: dry run, then the right builds and blobs go and nothing else', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t, { retentionInterval: '0' })
  const call = api(server)
  const run = cli(server)
  const dir = tempDir(t)
  const ipa = async (name: string): Promise<string> => {
    const path = join(dir, `${name}.ipa`)
    await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.retention', CFBundleShortVersionString: name }, files: [{ name: 'payload.bin', data: Buffer.from(`build ${name}\n`.repeat(5000)) }] })
    return path
  }
  const at = (day: number) => server.setNow(new Date(START.getTime() + day * DAY))

  // main: an old build whose file is also uploaded to nightly (one shared blob), and a newer one.
  at(0)
  const shared = await ipa('shared')
  const mainOld = await uploadTo(server, shared, 'main')
  at(1)
  const mainNew = await uploadTo(server, await ipa('main-new'), 'main')
  // nightly, oldest first: n0, n1 (same file as mainOld), n2 (marked keep), n3, n4.
  const nightly = []
  for (const [day, path] of [[2, await ipa('n0')], [3, shared], [4, await ipa('n2')], [5, await ipa('n3')], [6, await ipa('n4')]] as const) {
    at(day)
    nightly.push(await uploadTo(server, path, 'nightly'))
  }
  const [n0, n1, n2, n3, n4] = nightly
  assert.equal(n1.sha256, mainOld.sha256)
  assert.deepEqual((await call('PATCH', `/api/v1/builds/${n2.id}`, { keep: true })).body, { id: n2.id, channel: 'nightly', keep: true })
  const set = await run('channels', 'set', 'com.example.retention', 'nightly', '--keep-last', '2', '--json')
  assert.equal(set.code, 0, set.stderr)
  assert.deepEqual(JSON.parse(set.stdout).retention, { keepLast: 2, maxAgeDays: null })
  const blobsBefore = blobFiles(server.dataDir)
  const manifestOfN0: string = (await call('GET', `/api/v1/builds/${n0.id}`)).body.manifestUrl

  // Dry runs, over the API and the command line: the plan, nothing deleted.
  const dry = (await call('POST', '/api/v1/retention/run', { dryRun: true })).body
  assert.equal(dry.dryRun, true)
  assert.deepEqual(dry.channels.map((c: any) => [c.channel, c.kept, c.deleted.map((b: any) => b.id)]), [['nightly', 3, [n1.id, n0.id]]])
  assert.equal(dry.freedBytes, n0.size, "n1's file is still used by main")
  const dryCli = await run('retention', 'run', '--dry-run')
  assert.equal(dryCli.code, 0, dryCli.stderr)
  assert.match(dryCli.stdout, /com\.example\.retention nightly: keeps 3, would delete 2/)
  assert.match(dryCli.stdout, /dry run: would delete 2 builds/)
  for (const build of [mainOld, mainNew, ...nightly]) assert.equal((await call('GET', `/api/v1/builds/${build.id}`)).status, 200)
  assert.deepEqual(blobFiles(server.dataDir), blobsBefore)

  // The run.
  const done = await run('retention', 'run', '--json')
  assert.equal(done.code, 0, done.stderr)
  const report = JSON.parse(done.stdout)
  assert.deepEqual([report.dryRun, report.deletedBuilds, report.freedBytes], [false, 2, n0.size])
  for (const gone of [n0, n1]) assert.equal((await call('GET', `/api/v1/builds/${gone.id}`)).status, 404)
  for (const kept of [mainOld, mainNew, n2, n3, n4]) assert.equal((await call('GET', `/api/v1/builds/${kept.id}`)).status, 200)
  assert.equal(existsSync(blobPath(server, n0.sha256)), false)
  assert.equal(existsSync(blobPath(server, mainOld.sha256)), true, 'still referenced by main')
  assert.deepEqual(blobFiles(server.dataDir), blobsBefore.filter((name) => name !== n0.sha256), 'only the unreferenced blob went')
  assert.equal((await server.request(manifestOfN0)).status, 404, 'its links answer "deleted"')
  assert.equal((await call('POST', '/api/v1/retention/run', {})).body.deletedBuilds, 0, 'a second run finds nothing to do')

  // main by age: its newest build always stays; the old one goes, and with it the last reference to the shared file.
  at(40)
  const aged = await call('PATCH', '/api/v1/apps/com.example.retention/channels/main', { retention: { maxAgeDays: 30 } })
  assert.deepEqual(aged.body.retention, { keepLast: null, maxAgeDays: 30 })
  const byAge = (await call('POST', '/api/v1/retention/run', { app: 'com.example.retention' })).body
  assert.deepEqual(byAge.channels.map((c: any) => [c.channel, c.deleted.map((b: any) => b.id)]), [['main', [mainOld.id]], ['nightly', []]])
  assert.equal(existsSync(blobPath(server, mainOld.sha256)), false)
  assert.equal((await call('GET', `/api/v1/builds/${mainNew.id}`)).status, 200, 'the newest of a channel is never deleted')
  assert.equal((await call('GET', `/api/v1/apps/com.example.retention/channels`)).body.channels.find((c: any) => c.name === 'main').buildCount, 1)
  assert.equal((await call('POST', '/api/v1/retention/run', { app: 'com.example.nope' })).status, 200)
  assert.equal((await call('PATCH', '/api/v1/apps/com.example.retention/channels/main', { retention: { keepLast: -1 } })).status, 400)
  assert.equal((await call('PATCH', '/api/v1/apps/com.example.retention/channels/main', { retention: { maxAgeDays: 'soon' } })).status, 400)
  assert.equal((await run('channels', 'set', 'com.example.retention', 'main', '--keep-last', 'lots')).code, 2)
})
