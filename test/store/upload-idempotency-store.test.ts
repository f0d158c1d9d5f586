// Upload idempotency keys on every MetaStore adapter (SQLite, and PostgreSQL with its pool): one
// winner among concurrent claims, replay data, release, stale claims taken over, 24 h expiry.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSqlUploadIdempotencyStore, KEY_TTL_MS, STALE_CLAIM_MS } from '../../src/store/upload-idempotency.ts'
import { ADAPTERS, manualClock, type StoreAdapter } from './meta-store-adapters.ts'

const RESULT = { fingerprint: 'a'.repeat(64), buildId: 'B'.repeat(22), status: 201, body: '{"id":"BBBBBBBBBBBBBBBBBBBBBB"}' }

for (const adapter of ADAPTERS) {
  describe(`upload idempotency keys (${adapter.name})`, () => {
    const open = async (t: Parameters<StoreAdapter['open']>[0]) => {
      const clock = manualClock()
      const { db } = await adapter.open(t, { now: clock.now })
      return { db, clock, keys: createSqlUploadIdempotencyStore(db, { now: clock.now }) }
    }

    it('claims a key once; the answer recorded under it is what later claims get; owners never share keys', async (t) => {
      const { keys } = await open(t)
      const first = await keys.claim('token:one', 'key-1')
      assert.equal(first.state, 'claimed')
      assert.deepEqual(await keys.claim('token:one', 'key-1'), { state: 'in-progress' })
      assert.equal((await keys.claim('token:two', 'key-1')).state, 'claimed', 'another token\'s key of the same name is its own')
      assert.ok(first.state === 'claimed')
      assert.equal(await keys.complete('token:one', 'key-1', 'not-the-claim', RESULT), false, 'only the claiming request records')
      assert.equal(await keys.complete('token:one', 'key-1', first.claimId, RESULT), true)
      assert.deepEqual(await keys.claim('token:one', 'key-1'), { state: 'completed', ...RESULT })
      assert.equal(await keys.complete('token:one', 'key-1', first.claimId, RESULT), false, 'recorded once')
      await keys.release('token:one', 'key-1', first.claimId)
      assert.equal((await keys.claim('token:one', 'key-1')).state, 'completed', 'a completed key is never released')
    })

    it('a released key (the upload failed) can be claimed again', async (t) => {
      const { keys } = await open(t)
      const first = await keys.claim('token:one', 'key')
      assert.ok(first.state === 'claimed')
      await keys.release('token:one', 'key', first.claimId)
      const again = await keys.claim('token:one', 'key')
      assert.equal(again.state, 'claimed')
      assert.ok(again.state === 'claimed' && again.claimId !== first.claimId)
    })

    it('concurrent claims of one key: exactly one wins', async (t) => {
      const { keys } = await open(t)
      const claims = await Promise.all(Array.from({ length: 12 }, () => keys.claim('token:one', 'race')))
      assert.equal(claims.filter((c) => c.state === 'claimed').length, 1)
      assert.equal(claims.filter((c) => c.state === 'in-progress').length, 11)
    })

    it('a claim that stops being refreshed (a crashed server) goes stale and is taken over; the old holder can no longer record', async (t) => {
      const { keys, clock } = await open(t)
      const crashed = await keys.claim('token:one', 'key')
      assert.ok(crashed.state === 'claimed')
      clock.tick(STALE_CLAIM_MS / 2)
      assert.equal(await keys.heartbeat('token:one', 'key', crashed.claimId), true)
      clock.tick(STALE_CLAIM_MS / 2 + 1000)
      assert.deepEqual(await keys.claim('token:one', 'key'), { state: 'in-progress' }, 'refreshed a minute ago: still running')
      clock.tick(STALE_CLAIM_MS)
      const taker = await keys.claim('token:one', 'key')
      assert.equal(taker.state, 'claimed')
      assert.equal(await keys.heartbeat('token:one', 'key', crashed.claimId), false)
      assert.equal(await keys.complete('token:one', 'key', crashed.claimId, RESULT), false)
    })

    it('keys expire after 24 h: forgotten, and the key is free again', async (t) => {
      const { keys, clock, db } = await open(t)
      const done = await keys.claim('token:one', 'old')
      assert.ok(done.state === 'claimed')
      await keys.complete('token:one', 'old', done.claimId, RESULT)
      clock.tick(KEY_TTL_MS - 1000)
      assert.equal((await keys.claim('token:one', 'old')).state, 'completed', 'a day not yet over')
      assert.equal(await keys.deleteExpired(), 0)
      clock.tick(2000)
      assert.equal(await keys.deleteExpired(), 1)
      const rows = await db.selectFrom('upload_idempotency_keys').select('idempotency_key').execute()
      assert.deepEqual(rows, [])
      clock.tick(KEY_TTL_MS)
      // Forgotten lazily by the next claim, too.
      const fresh = await keys.claim('token:one', 'new')
      assert.ok(fresh.state === 'claimed')
      await keys.complete('token:one', 'new', fresh.claimId, RESULT)
      clock.tick(KEY_TTL_MS + 1000)
      assert.equal((await keys.claim('token:one', 'new')).state, 'claimed')
    })
  })
}
