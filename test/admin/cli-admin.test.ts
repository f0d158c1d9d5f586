// `airstrip admin create|list|reset-password` on a data dir; the accounts it makes sign in.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { createAccountService } from '../../src/accounts/account-service.ts'
import { createSqlAccountStore } from '../../src/store/accounts.ts'
import { openDatabase } from '../../src/store/database.ts'
import { runCli } from '../support/cli.ts'
import { tempDir } from '../support/fixtures.ts'

test('creates the first admin with a generated password, lists users, resets a password', async (t) => {
  const dataDir = tempDir(t)
  const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args, '--data-dir', dataDir], env)
  const created = await cli(['admin', 'create', '--email', 'Root@Example.com', '--name', 'Root'])
  assert.equal(created.code, 0, created.stderr)
  const password = created.stdout.trim()
  assert.match(password, /^[A-Za-z0-9_-]{20}$/, 'a generated password, printed once on stdout')
  assert.match(created.stderr, /Created admin root@example\.com/)

  const fromEnv = await cli(['admin', 'create', '--email', 'viewer@example.com', '--role', 'viewer'], { AIRSTRIP_ADMIN_PASSWORD: 'viewer password 1' })
  assert.equal(fromEnv.code, 0, fromEnv.stderr)
  assert.equal(fromEnv.stdout, '', 'a given password is never printed')
  assert.equal((await cli(['admin', 'create', '--email', 'root@example.com'])).code, 2, 'user-exists')
  const badRole = await cli(['admin', 'create', '--email', 'x@example.com', '--role', 'owner'])
  assert.equal(badRole.code, 2)
  assert.match(badRole.stderr, /usage-error/)
  const weak = await cli(['admin', 'create', '--email', 'y@example.com'], { AIRSTRIP_ADMIN_PASSWORD: 'short' })
  assert.equal(weak.code, 2)
  assert.match(weak.stderr, /at least 12 characters/)

  const listed = await cli(['admin', 'list'])
  assert.match(listed.stdout, /root@example\.com {2}admin {2}Root/)
  assert.match(listed.stdout, /viewer@example\.com {2}viewer/)
  assert.ok(!listed.stdout.includes('argon2'), 'never a hash')

  const file = join(dataDir, 'new-password.txt')
  writeFileSync(file, 'a brand new password\n')
  assert.equal((await cli(['admin', 'reset-password', '--email', 'root@example.com', '--password-file', file])).code, 0)
  assert.equal((await cli(['admin', 'reset-password', '--email', 'ghost@example.com'])).code, 2)

  const db = await openDatabase(join(dataDir, 'airstrip.db'))
  t.after(() => db.destroy())
  const accounts = createAccountService({ store: createSqlAccountStore(db), now: () => new Date() })
  await assert.rejects(accounts.login({ email: 'root@example.com', password, clientAddress: '::1' }))
  assert.equal((await accounts.login({ email: 'root@example.com', password: 'a brand new password', clientAddress: '::1' })).user.role, 'admin')
  assert.equal((await accounts.login({ email: 'viewer@example.com', password: 'viewer password 1', clientAddress: '::1' })).user.role, 'viewer')
  assert.equal(await accounts.pendingSetupToken(), null, 'an admin exists: no setup')
})

test('airstrip token create makes scoped tokens', async (t) => {
  const dataDir = tempDir(t)
  const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir])
  const made = await cli(['token', 'create', '--name', 'ci', '--scope', 'upload', '--app', 'com.example.app'])
  assert.equal(made.code, 0, made.stderr)
  assert.match(made.stdout, /^as_[A-Za-z0-9_-]{43}\n$/)
  assert.equal((await cli(['token', 'create', '--name', 'old-style'])).code, 0)
  const listed = await cli(['token', 'list'])
  assert.match(listed.stdout, / ci {2}upload \(com\.example\.app\) {2}created /)
  assert.match(listed.stdout, / old-style {2}full {2}created /)
  assert.equal((await cli(['token', 'create', '--name', 'x', '--scope', 'root'])).code, 2)
  assert.equal((await cli(['token', 'create', '--name', 'x', '--app', 'com.example.app'])).code, 2, '--app needs --scope upload')
})
