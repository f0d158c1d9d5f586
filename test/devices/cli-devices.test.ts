// `airstrip devices …` against a real data dir (the same database the server uses).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, test } from 'node:test'
import { parsePlistDict } from '../../src/ipa/plist.ts'
import { openDatabase } from '../../src/store/database.ts'
import { createSqlDeviceStore } from '../../src/store/devices.ts'
import { createSqliteMetaStore } from '../../src/store/meta-store.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { tempDir } from '../support/fixtures.ts'
import { SAMPLE_UDIDS } from '../support/profiles.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { sampleBuild } from '../store/meta-store-adapters.ts'

const suite = suiteScope()
let dataDir: string
let buildId: string
const ids: string[] = []

function run(...argv: string[]): Promise<CliRun> {
  return runCli([...argv, '--data-dir', dataDir])
}

before(async () => {
  dataDir = tempDir(suite)
  const db = await openDatabase(join(dataDir, 'airstrip.db'))
  const meta = createSqliteMetaStore(db)
  const store = createSqlDeviceStore(db)
  const info = sampleBuild('com.example.cli').info
  const { build } = await meta.insertBuild(
    sampleBuild('com.example.cli', {
      name: 'CLI App',
      info: { ...info, profile: { kind: 'ad-hoc', encoding: 'cms', name: 'P', uuid: 'U', teamId: 'T', teamName: 'Team', appIdName: null, applicationIdentifier: 'T.com.example.cli', createdAt: null, expiresAt: '2099-01-01T00:00:00Z', provisionedDevices: [SAMPLE_UDIDS[0]], provisionsAllDevices: false, platforms: ['iOS'], entitlements: {}, certificates: [], signers: [] } },
    }),
  )
  buildId = build.id
  for (const [index, udid] of SAMPLE_UDIDS.entries()) {
    const session = `${index}`.repeat(32)
    await store.openEnrollment({ id: session, inviteId: null, challengeHash: '00'.repeat(32), expiresAt: new Date(Date.now() + 60_000).toISOString() })
    const done = await store.completeEnrollment(session, { udid, reportedName: index === 0 ? 'Old iPhone' : 'Jane’s iPhone', product: index === 0 ? 'iPhone10,3' : 'iPhone15,2', modelName: index === 0 ? 'iPhone X' : 'iPhone 14 Pro', family: 'iphone', osVersion: '22D63', serial: null, signatureVerified: true, chainVerified: null })
    ids.push(done!.device.id)
  }
  await meta.close()
})

test('list, with a build in scope and filtered to the devices it misses', async () => {
  const all = await run('devices', 'list')
  assert.equal(all.code, 0, all.stderr)
  assert.equal(all.stdout.trim().split('\n').length, 2)
  assert.match(all.stdout, new RegExp(`${SAMPLE_UDIDS[1]}  Jane’s iPhone \\(iPhone 14 Pro\\)`))
  const scoped = await run('devices', 'list', '--build', buildId)
  assert.match(scoped.stdout, new RegExp(`${SAMPLE_UDIDS[0]}.*✓ in profile`))
  assert.match(scoped.stdout, new RegExp(`${SAMPLE_UDIDS[1]}.*✗ not in profile`))
  const missing = await run('devices', 'list', '--build', buildId, '--missing', '--json')
  assert.deepEqual(JSON.parse(missing.stdout).devices.map((d: { udid: string }) => d.udid), [SAMPLE_UDIDS[1]])
  const refused = await run('devices', 'list', '--missing')
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /^airstrip: bad-request: filtering by "provisioned" needs a build/)
})

test('missing: the per-build summary', async () => {
  const report = await run('devices', 'missing', buildId)
  assert.equal(report.code, 0, report.stderr)
  assert.equal(report.stdout.split('\n')[0], '1 enrolled device cannot install CLI App 1.0 (1)')
  assert.equal((await run('devices', 'missing', 'nope')).code, 2)
})

test('rename by UDID, link, unlink, reset, delete', async () => {
  assert.match((await run('devices', 'rename', SAMPLE_UDIDS[1].toLowerCase(), 'QA\tphone')).stdout, /QA phone/)
  assert.match((await run('devices', 'link', ids[1]!, 'Jane@Example.com')).stdout, /→ jane@example\.com/)
  const shown = JSON.parse((await run('devices', 'show', ids[1]!, '--json')).stdout)
  assert.equal(shown.customName, 'QA phone')
  assert.equal(shown.tester, 'jane@example.com')
  assert.doesNotMatch((await run('devices', 'unlink', ids[1]!)).stdout, /→/)
  assert.match((await run('devices', 'rename', ids[1]!, '--reset')).stdout, /Jane’s iPhone/)
  assert.equal((await run('devices', 'rename', ids[1]!)).code, 2)
  const gone = await run('devices', 'delete', SAMPLE_UDIDS[0])
  assert.match(gone.stdout, /^deleted /)
  const again = await run('devices', 'show', SAMPLE_UDIDS[0])
  assert.equal(again.code, 2)
  assert.match(again.stderr, /device-not-found/)
})

test('export in both of Apple\'s formats, to stdout or a file', async () => {
  const apple = await run('devices', 'export')
  assert.equal(apple.stdout, `Device ID\tDevice Name\tDevice Platform\n${SAMPLE_UDIDS[1]}\tJane’s iPhone\tios\n`)
  const file = join(dataDir, 'devices.deviceids')
  const written = await run('devices', 'export', '--format', 'deviceids', '--output', file)
  assert.equal(written.code, 0, written.stderr)
  assert.deepEqual(parsePlistDict(readFileSync(file)), { 'Device UDIDs': [{ deviceIdentifier: SAMPLE_UDIDS[1], deviceName: 'Jane’s iPhone', devicePlatform: 'ios' }] })
  assert.equal((await run('devices', 'export', '--format', 'csv')).code, 2)
})

test('invite links: created once, listed without secrets, revoked', async () => {
  const created = await run('devices', 'invite', 'jane@example.com', '--public-url', 'https://ota.example.com', '--json')
  assert.equal(created.code, 0, created.stderr)
  const invite = JSON.parse(created.stdout)
  assert.match(invite.url, /^https:\/\/ota\.example\.com\/enroll\/ei_[A-Za-z0-9_-]{43}$/)
  const listed = await run('devices', 'invites')
  assert.match(listed.stdout, new RegExp(`^${invite.id}  jane@example.com  created`))
  assert.ok(!listed.stdout.includes(invite.url.split('/').pop()))
  assert.equal((await run('devices', 'revoke-invite', invite.id)).stdout, `revoked ${invite.id}\n`)
  assert.equal((await run('devices', 'revoke-invite', invite.id)).code, 2)
})

test('App Store Connect commands say what to configure', async () => {
  const result = await run('devices', 'apple-usage')
  assert.equal(result.code, 2)
  assert.match(result.stderr, /app-store-connect-not-configured/)
  const partial = await run('devices', 'apple-usage', '--asc-key-id', 'ABC')
  assert.equal(partial.code, 64)
  assert.match(partial.stderr, /go together/)
})
