import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hashSessionId, newSecret } from '../../src/accounts/secrets.ts'
import { isAirstripError } from '../../src/errors.ts'
import { createSqlAccountStore } from '../../src/store/accounts.ts'
import { ADAPTERS, manualClock } from './meta-store-adapters.ts'

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'

for (const adapter of ADAPTERS) {
  describe(`AccountStore (${adapter.name})`, () => {
    it('creates users with normalised addresses, refuses duplicates and never returns the hash', async (t) => {
      const clock = manualClock()
      const { db } = await adapter.open(t)
      const store = createSqlAccountStore(db, { now: clock.now })
      const alice = await store.createUser({ email: '  Alice@Example.COM ', name: ' Alice  Liddell ', role: 'developer', passwordHash: HASH })
      assert.equal(alice.email, 'alice@example.com')
      assert.equal(alice.name, 'Alice Liddell')
      assert.equal(alice.role, 'developer')
      assert.ok(!('passwordHash' in alice))
      await assert.rejects(store.createUser({ email: 'ALICE@example.com', name: '', role: 'viewer', passwordHash: HASH }), (e) => isAirstripError(e, 'user-exists'))
      await assert.rejects(store.createUser({ email: 'not-an-address', name: '', role: 'viewer', passwordHash: HASH }), (e) => isAirstripError(e, 'bad-request'))
      const found = await store.findCredentials('alice@EXAMPLE.com')
      assert.equal(found?.user.id, alice.id)
      assert.equal(found?.passwordHash, HASH)
      assert.deepEqual((await store.listUsers()).map((u) => u.email), ['alice@example.com'])
      assert.equal((await store.getUser(alice.id))?.name, 'Alice Liddell')
      assert.equal(await store.findCredentials('nobody@example.com'), null)
    })

    it('creates the first admin only while there is none', async (t) => {
      const { db } = await adapter.open(t)
      const store = createSqlAccountStore(db)
      await store.createUser({ email: 'viewer@example.com', name: 'V', role: 'viewer', passwordHash: HASH })
      assert.equal(await store.countAdmins(), 0)
      const first = await store.createFirstAdmin({ email: 'root@example.com', name: 'Root', passwordHash: HASH })
      assert.equal(first?.role, 'admin')
      assert.equal(await store.createFirstAdmin({ email: 'second@example.com', name: 'Second', passwordHash: HASH }), null)
      assert.equal(await store.countAdmins(), 1)
      assert.equal(await store.findCredentials('second@example.com'), null)
    })

    it('keeps at least one admin', async (t) => {
      const { db } = await adapter.open(t)
      const store = createSqlAccountStore(db)
      const root = (await store.createFirstAdmin({ email: 'root@example.com', name: 'Root', passwordHash: HASH }))!
      await assert.rejects(store.updateUser(root.id, { role: 'viewer' }), (e) => isAirstripError(e, 'last-admin'))
      await assert.rejects(store.deleteUser(root.id), (e) => isAirstripError(e, 'last-admin'))
      const other = await store.createUser({ email: 'other@example.com', name: 'Other', role: 'admin', passwordHash: HASH })
      assert.equal((await store.updateUser(root.id, { role: 'viewer' }))?.role, 'viewer')
      await assert.rejects(store.deleteUser(other.id), (e) => isAirstripError(e, 'last-admin'))
      assert.equal(await store.deleteUser(root.id), true)
      assert.equal(await store.deleteUser(root.id), false)
      assert.equal(await store.updateUser(root.id, { name: 'x' }), null)
    })

    it('stores sessions by hash, ends them on a password or role change, and prunes idle ones', async (t) => {
      const clock = manualClock()
      const { db } = await adapter.open(t)
      const store = createSqlAccountStore(db, { now: clock.now })
      const user = await store.createUser({ email: 'dev@example.com', name: 'Dev', role: 'developer', passwordHash: HASH })
      const [a, b, c] = [newSecret(), newSecret(), newSecret()]
      for (const id of [a, b, c]) await store.createSession({ idHash: hashSessionId(id), userId: user.id, expiresAt: '2026-12-31T00:00:00.000Z' })
      const rows = await db.selectFrom('sessions').selectAll().execute()
      assert.equal(rows.length, 3)
      assert.ok(!JSON.stringify(rows).includes(a), 'the session id itself is never stored')
      const found = await store.findSession(hashSessionId(a))
      assert.equal(found?.user.email, 'dev@example.com')
      assert.equal(found?.session.userId, user.id)

      // A new password ends every session but the one that changed it.
      await store.updateUser(user.id, { passwordHash: HASH.replace('aGFz', 'bGFz'), keepSessionHash: hashSessionId(a) })
      assert.ok(await store.findSession(hashSessionId(a)))
      assert.equal(await store.findSession(hashSessionId(b)), null)
      // A re-hash of the same password keeps them.
      await store.updateUser(user.id, { passwordHash: HASH, sameSecret: true })
      assert.ok(await store.findSession(hashSessionId(a)))
      await store.updateUser(user.id, { role: 'viewer' })
      assert.equal(await store.findSession(hashSessionId(a)), null)

      await store.createSession({ idHash: hashSessionId(c), userId: user.id, expiresAt: '2026-12-31T00:00:00.000Z' })
      const idleBefore = clock.tick(60_000)
      assert.equal(await store.pruneSessions(idleBefore), 1)
      assert.equal(await store.deleteSession(hashSessionId(c)), false)
    })

    it('counts failed sign-ins per key within a window, and clears them', async (t) => {
      const clock = manualClock()
      const { db } = await adapter.open(t)
      const store = createSqlAccountStore(db, { now: clock.now })
      const windowStart = () => new Date(clock.now().getTime() - 15 * 60_000).toISOString()
      assert.equal(await store.recordLoginFailure('user:a@example.com', windowStart()), 1)
      clock.tick()
      assert.equal(await store.recordLoginFailure('user:a@example.com', windowStart()), 2)
      assert.equal(await store.recordLoginFailure('ip:127.0.0.1', windowStart()), 1)
      assert.equal(await store.loginFailures('user:a@example.com', windowStart()), 2)
      // The window passes: the counter starts again.
      clock.tick(16 * 60_000)
      assert.equal(await store.loginFailures('user:a@example.com', windowStart()), 0)
      assert.equal(await store.recordLoginFailure('user:a@example.com', windowStart()), 1)
      await store.clearLoginFailures('user:a@example.com')
      assert.equal(await store.loginFailures('user:a@example.com', windowStart()), 0)
      // Stale counters of other keys were pruned along the way.
      assert.deepEqual((await db.selectFrom('login_throttle').select('key').execute()).map((r) => r.key), [])
    })
  })
}
