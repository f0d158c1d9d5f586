import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { argon2id } from 'hash-wasm'
import { createAccountService, LOGIN_LIMITS, SESSION_IDLE_MS } from '../../src/accounts/account-service.ts'
import { ARGON2_PARAMETERS, hashPassword, needsRehash, verifyPassword } from '../../src/accounts/password.ts'
import { can, ROLES } from '../../src/accounts/roles.ts'
import { csrfTokenFor, hashSessionId, newSecret, verifyCsrfToken } from '../../src/accounts/secrets.ts'
import { isAirstripError } from '../../src/errors.ts'
import { createSqlAccountStore } from '../../src/store/accounts.ts'
import { openDatabase } from '../../src/store/database.ts'

describe('password hashing (argon2id, hash-wasm)', () => {
  it('hashes with OWASP parameters and a fresh salt, and verifies', async () => {
    const first = await hashPassword('correct horse battery')
    const second = await hashPassword('correct horse battery')
    assert.match(first, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    assert.notEqual(first, second, 'a fresh salt every time')
    assert.equal(await verifyPassword('correct horse battery', first), true)
    assert.equal(await verifyPassword('correct horse batterz', first), false)
    assert.equal(await verifyPassword('', first), false)
    assert.equal(needsRehash(first), false)
  })

  it('verifies hashes made by the reference encoder, and re-hashes weaker ones', async () => {
    const salt = Buffer.from('0123456789abcdef')
    const weak = await argon2id({ password: 'pw-from-elsewhere', salt, memorySize: 4096, iterations: 1, parallelism: 1, hashLength: 32, outputType: 'encoded' })
    assert.equal(await verifyPassword('pw-from-elsewhere', weak), true)
    assert.equal(needsRehash(weak), true)
    assert.equal(ARGON2_PARAMETERS.memorySize >= 19_456 && ARGON2_PARAMETERS.iterations >= 2, true)
  })

  it('never matches a malformed stored hash or an oversized password', async () => {
    const good = await hashPassword('a long enough pw')
    for (const stored of ['', 'plain', good.replace('argon2id', 'argon2i'), good.slice(0, -5), good.replace('m=19456', 'm=x')]) {
      assert.equal(await verifyPassword('a long enough pw', stored), false, stored)
    }
    assert.equal(await verifyPassword('x'.repeat(10_000), good), false)
  })
})

describe('session ids and CSRF tokens', () => {
  it('binds a CSRF token to its session and compares in constant time', () => {
    const session = newSecret()
    const other = newSecret()
    assert.equal(verifyCsrfToken(session, csrfTokenFor(session)), true)
    assert.equal(verifyCsrfToken(session, csrfTokenFor(other)), false)
    assert.equal(verifyCsrfToken(session, ''), false)
    assert.equal(verifyCsrfToken(session, undefined), false)
    assert.equal(verifyCsrfToken(session, csrfTokenFor(session).slice(1)), false)
    assert.match(hashSessionId(session), /^[0-9a-f]{64}$/)
  })

  it('gives each role its permissions', () => {
    assert.deepEqual(ROLES.map((role) => [can(role, 'read'), can(role, 'manage'), can(role, 'administer')]), [
      [true, true, true],
      [true, true, false],
      [true, false, false],
    ])
  })
})

async function openService(t: TestContext, clock: { now: () => Date }) {
  const dir = await mkdtemp(join(tmpdir(), 'airstrip-accounts-'))
  const db = await openDatabase(join(dir, 'airstrip.db'))
  t.after(async () => {
    await db.destroy()
    await rm(dir, { recursive: true, force: true })
  })
  const store = createSqlAccountStore(db, clock)
  return { store, accounts: createAccountService({ store, now: clock.now }) }
}

describe('account service', () => {
  it('runs first-run setup once, with the right token only', async (t) => {
    let now = new Date('2026-11-26T10:00:00Z')
    const { accounts } = await openService(t, { now: () => now })
    const token = await accounts.pendingSetupToken()
    assert.ok(token)
    await assert.rejects(accounts.completeSetup(newSecret(), { email: 'root@example.com', name: 'Root', password: 'a long enough pw' }), (e) => isAirstripError(e, 'setup-unavailable'))
    await assert.rejects(accounts.completeSetup(token, { email: 'root@example.com', name: 'Root', password: 'short' }), (e) => isAirstripError(e, 'bad-request'))
    const active = await accounts.completeSetup(token, { email: 'root@example.com', name: 'Root', password: 'a long enough pw' })
    assert.equal(active.user.role, 'admin')
    assert.equal(await accounts.pendingSetupToken(), null)
    await assert.rejects(accounts.completeSetup(token, { email: 'two@example.com', name: 'Two', password: 'a long enough pw' }), (e) => isAirstripError(e, 'setup-unavailable'))
    assert.equal((await accounts.resume(active.id))?.user.email, 'root@example.com')
    // Idle too long: the session is gone.
    now = new Date(now.getTime() + SESSION_IDLE_MS + 1000)
    assert.equal(await accounts.resume(active.id), null)
  })

  it('signs in, refuses wrong passwords, and rate limits per account', async (t) => {
    let now = new Date('2026-11-26T10:00:00Z')
    const { accounts } = await openService(t, { now: () => now })
    await accounts.createUser({ email: 'dev@example.com', name: 'Dev', role: 'developer', password: 'a long enough pw' })
    const session = await accounts.login({ email: 'DEV@example.com', password: 'a long enough pw', clientAddress: '10.0.0.1' })
    assert.equal(session.user.role, 'developer')
    await accounts.logout(session.id)
    assert.equal(await accounts.resume(session.id), null)

    for (let i = 0; i < LOGIN_LIMITS.perAccount; i++) {
      await assert.rejects(accounts.login({ email: 'dev@example.com', password: `wrong ${i}`, clientAddress: `10.0.1.${i}` }), (e) => isAirstripError(e, 'login-failed'))
    }
    // Locked: even the right password is refused until the window passes.
    await assert.rejects(accounts.login({ email: 'dev@example.com', password: 'a long enough pw', clientAddress: '10.0.0.1' }), (e) => isAirstripError(e, 'too-many-attempts'))
    now = new Date(now.getTime() + LOGIN_LIMITS.windowMs + 1000)
    assert.ok(await accounts.login({ email: 'dev@example.com', password: 'a long enough pw', clientAddress: '10.0.0.1' }))
    // Unknown addresses fail the same way (and count too).
    await assert.rejects(accounts.login({ email: 'ghost@example.com', password: 'whatever it is', clientAddress: '10.0.0.1' }), (e) => isAirstripError(e, 'login-failed'))
  })

  it('changes a password: the old one stops working, other sessions end', async (t) => {
    const { accounts } = await openService(t, { now: () => new Date('2026-11-26T10:00:00Z') })
    await accounts.createUser({ email: 'v@example.com', name: 'V', role: 'viewer', password: 'first password!' })
    const here = await accounts.login({ email: 'v@example.com', password: 'first password!', clientAddress: '::1' })
    const elsewhere = await accounts.login({ email: 'v@example.com', password: 'first password!', clientAddress: '::1' })
    await assert.rejects(accounts.changePassword(here, 'not it at all', 'second password!'), (e) => isAirstripError(e, 'login-failed'))
    await accounts.changePassword(here, 'first password!', 'second password!')
    assert.ok(await accounts.resume(here.id))
    assert.equal(await accounts.resume(elsewhere.id), null)
    await assert.rejects(accounts.login({ email: 'v@example.com', password: 'first password!', clientAddress: '::1' }), (e) => isAirstripError(e, 'login-failed'))
    assert.ok(await accounts.login({ email: 'v@example.com', password: 'second password!', clientAddress: '::1' }))
  })
})
