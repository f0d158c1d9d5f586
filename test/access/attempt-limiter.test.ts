// The in-memory password-attempt limiter behind the async AttemptLimiter interface (one instance,
// SQLite); the database-backed one is exercised across instances in
// test/integration/shared-password-gate.test.ts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createMemoryAttemptLimiter } from '../../src/access/attempt-limiter.ts'
import { openDatabase } from '../../src/store/database.ts'
import { openAttemptLimiter } from '../../src/store/password-attempts.ts'

const NOW = new Date('2026-03-02T10:00:00Z')

describe('in-memory attempt limiter', () => {
  it('lets `max` attempts go ahead in the window, refuses the rest without counting them, then lets go', async () => {
    let now = NOW.getTime()
    const limiter = createMemoryAttemptLimiter({ name: 'test', max: 3, windowMs: 60_000, now: () => new Date(now) })
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map(() => limiter.attempt('a'))), [0, 0, 0, 60, 60], 'simultaneous attempts: three go ahead')
    assert.equal(await limiter.attempt('b'), 0, 'another key is unaffected')
    now += 60_001
    assert.equal(await limiter.attempt('a'), 0, 'refused attempts did not extend the wait')
  })

  it('forgive gives back the last attempt; reset forgets them all', async () => {
    const limiter = createMemoryAttemptLimiter({ name: 'test', max: 2, windowMs: 60_000, now: () => NOW })
    assert.equal(await limiter.attempt('a'), 0)
    await limiter.forgive('a')
    assert.equal(await limiter.attempt('a'), 0)
    assert.equal(await limiter.attempt('a'), 0)
    assert.equal(await limiter.attempt('a'), 60)
    await limiter.reset('a')
    assert.equal(await limiter.attempt('a'), 0)
    await limiter.forgive('never-seen')
  })

  it('SQLite (one instance) keeps the counters in memory: nothing is written to password_attempts', async () => {
    const db = await openDatabase(':memory:')
    try {
      const limiter = openAttemptLimiter(db, { name: 'test', max: 1, windowMs: 60_000, now: () => NOW })
      assert.equal(await limiter.attempt('a'), 0)
      assert.equal(await limiter.attempt('a'), 60)
      assert.deepEqual(await db.selectFrom('password_attempts').selectAll().execute(), [])
    } finally {
      await db.destroy()
    }
  })
})
