// `airstrip testers|groups|webhooks|notifications` on a data dir, like `airstrip token`.
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { openDatabase } from '../../src/store/database.ts'
import { isId, newId } from '../../src/store/new-id.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { tempDir } from '../support/fixtures.ts'

function cliIn(dataDir: string) {
  return (...args: string[]): Promise<CliRun> => runCli([...args, '--data-dir', dataDir])
}

test('testers, groups, subscriptions and app settings from the command line', async (t) => {
  const cli = cliIn(tempDir(t))
  const jane = await cli('testers', 'add', '--name', 'Jane', '--email', 'Jane@Example.test', '--phone', '+1 555 123 4567', '--app', 'com.example.app', '--json')
  assert.equal(jane.code, 0, jane.stderr)
  const janeRecord = JSON.parse(jane.stdout)
  assert.equal(janeRecord.email, 'jane@example.test')
  assert.equal(janeRecord.phone, '+15551234567')
  assert.equal((await cli('testers', 'add', '--name', 'Bob', '--email', 'bob@example.test')).code, 0)

  const duplicate = await cli('testers', 'add', '--name', 'Jane again', '--email', 'JANE@example.test')
  assert.equal(duplicate.code, 2)
  assert.match(duplicate.stderr, /^airstrip: tester-exists: /)
  const badPhone = await cli('testers', 'add', '--name', 'X', '--email', 'x@example.test', '--phone', '555')
  assert.equal(badPhone.code, 2)
  assert.match(badPhone.stderr, /bad-request/)

  assert.equal((await cli('groups', 'create', 'Beta')).code, 0)
  const added = await cli('groups', 'add', 'Beta', 'bob@example.test', janeRecord.id)
  assert.equal(added.stdout, 'group Beta has 2 tester(s)\n', added.stderr)
  assert.equal((await cli('groups', 'subscribe', 'Beta', '--app', 'com.example.app')).code, 0)
  assert.equal((await cli('notifications', 'set', '--app', 'com.example.app', '--on-upload', 'always')).code, 0)
  assert.equal((await cli('notifications', 'set', '--app', 'com.example.app', '--on-upload', 'sometimes')).code, 2)
  const shown = JSON.parse((await cli('notifications', 'show', '--app', 'com.example.app', '--json')).stdout)
  assert.equal(shown.notifyOnUpload, 'always')
  assert.deepEqual(shown.testerIds, [janeRecord.id])
  assert.equal(shown.groupIds.length, 1)

  const listed = (await cli('testers', 'list')).stdout
  assert.match(listed, /Jane <jane@example\.test>  \+15551234567  groups /)
  assert.equal((await cli('testers', 'update', 'jane@example.test', '--phone', '')).code, 0)
  assert.equal(JSON.parse((await cli('testers', 'list', '--json')).stdout).find((x: { name: string }) => x.name === 'Jane').phone, null)
  assert.equal((await cli('testers', 'unsubscribe', 'jane@example.test', '--app', 'com.example.app')).code, 0)
  assert.equal((await cli('testers', 'remove', 'bob@example.test')).code, 0)
  assert.deepEqual(JSON.parse((await cli('groups', 'list', '--json')).stdout)[0].testerIds, [janeRecord.id])
  assert.equal((await cli('testers', 'remove', 'nobody@example.test')).code, 2)
  assert.equal((await cli('notifications', 'show', '--app', 'not a bundle id')).code, 2)
  assert.equal((await cli('notifications', 'deliveries')).stdout, 'no deliveries\n')
})

test('webhooks: the secret is printed once and stored only encrypted, with the key file 0600', async (t) => {
  const dataDir = tempDir(t)
  const cli = cliIn(dataDir)
  const refused = await cli('webhooks', 'add', '--app', 'com.example.app', '--url', 'http://127.0.0.1:9/hook')
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /webhook-url-refused/)

  const added = await cli('webhooks', 'add', '--app', 'com.example.app', '--url', 'https://hooks.slack.com/services/T0/B0/XYZ', '--format', 'slack', '--events', 'build.created')
  assert.equal(added.code, 0, added.stderr)
  const secret = added.stdout.trim()
  assert.match(secret, /^whsec_/)
  assert.match(added.stderr, /shown only now/)
  const list = await cli('webhooks', 'list', '--app', 'com.example.app')
  assert.match(list.stdout, /com\.example\.app {2}slack {2}build\.created {2}https:\/\/hooks\.slack\.com/)
  assert.ok(!list.stdout.includes(secret))
  assert.equal((await cli('webhooks', 'add', '--app', 'com.example.app', '--url', 'https://x.example/', '--events', 'build.nope')).code, 2)

  const db = await openDatabase(join(dataDir, 'airstrip.db'))
  const rows = await db.selectFrom('webhooks').select(['id', 'secret_box']).execute()
  await db.destroy()
  assert.equal(rows.length, 1)
  assert.ok(!rows[0]!.secret_box.includes(secret.slice(6)), 'not stored in the clear')
  assert.ok(!readFileSync(join(dataDir, 'airstrip.db')).includes(secret.slice(6)))
  assert.equal(statSync(join(dataDir, 'notify-secrets.key')).mode & 0o777, 0o600)

  assert.equal((await cli('webhooks', 'remove', rows[0]!.id)).code, 0)
  assert.equal((await cli('webhooks', 'remove', rows[0]!.id)).code, 2)
})

test('an id that starts with "-" (made before ids avoided it) is removed after "--"; without it, a hint', async (t) => {
  const dataDir = tempDir(t)
  const cli = cliIn(dataDir)
  assert.equal((await cli('webhooks', 'add', '--app', 'com.example.app', '--url', 'https://x.example/hook')).code, 0)
  const db = await openDatabase(join(dataDir, 'airstrip.db'))
  const legacyId = '-legacyIdMadeIn2025abc'
  assert.ok(isId(legacyId))
  await db.updateTable('webhooks').set({ id: legacyId }).execute()
  await db.destroy()

  const bare = await cli('webhooks', 'remove', legacyId)
  assert.equal(bare.code, 64)
  assert.match(bare.stderr, /-legacyIdMadeIn2025abc looks like an id: put ids that start with '-' after '--'/)
  const separated = await runCli(['webhooks', 'remove', '--data-dir', dataDir, '--', legacyId])
  assert.equal(separated.code, 0, separated.stderr)
  assert.equal(JSON.parse((await cli('webhooks', 'list', '--json')).stdout).length, 0)
})

test('new ids never start with "-" (one in 64 did, and command lines took them for options)', () => {
  const ids = Array.from({ length: 20_000 }, () => newId())
  assert.ok(ids.every(isId))
  assert.equal(ids.filter((id) => id.startsWith('-')).length, 0)
  // Still drawn from the whole alphabet after the first character.
  assert.ok(ids.some((id) => id.slice(1).includes('-')) && ids.some((id) => id.includes('_')))
})
