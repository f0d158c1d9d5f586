// The write-behind queue of install analytics (src/store/analytics-batch.ts) over the real SQL store
// in a real SQLite file: written when a batch fills, when the interval passes, when flushed; bounded
// when the database does not answer; a failed transaction is logged and the next batch goes on.
// Then the store's multi-row INSERTs on every adapter, rows and order checked column by column.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { DatabaseSync } from 'node:sqlite'
import { sql } from 'kysely'
import { createWriteBatch } from '../../src/store/analytics-batch.ts'
import { createSqlAnalyticsStore, insertChunks, type AnalyticsRecord, type InstallActor } from '../../src/store/analytics.ts'
import { isId } from '../../src/store/new-id.ts'
import { ADAPTERS, manualClock } from './meta-store-adapters.ts'

const SQLITE = ADAPTERS.find((adapter) => adapter.name === 'sqlite')!

const actor = (buildId: string): InstallActor => ({ buildId, bundleId: 'com.example.batch', testerId: null, grantId: null })
const event = (buildId: string): AnalyticsRecord => ({ type: 'event', actor: actor(buildId), kind: 'manifest' })

/** The store in a fresh SQLite file, a batch writing into it, and what the batch logged and wrote. */
async function openBatch(t: TestContext, options: { flushMs?: number; maxBatch?: number; maxQueued?: number; gate?: Promise<void> } = {}) {
  const { db } = await SQLITE.open(t)
  const store = createSqlAnalyticsStore(db)
  const logged: Array<{ object: object; message: string }> = []
  // Resolved each time a write ends (committed or failed): tests wait on this, never on time.
  let wroteNext: (size: number) => void = () => {}
  const nextWrite = (): Promise<number> => new Promise((resolve) => (wroteNext = resolve))
  const batch = createWriteBatch<AnalyticsRecord>({
    name: 'install analytics',
    ...options,
    async write(items) {
      try {
        if (options.gate) await options.gate
        await store.recordBatch(items)
      } finally {
        wroteNext(items.length)
      }
    },
    log: { error: (object, message) => void logged.push({ object, message }) },
  })
  const rows = async (): Promise<string[]> => (await db.selectFrom('install_events').select('build_id').orderBy('id').execute()).map((row) => row.build_id)
  return { db, store, batch, logged, nextWrite, rows }
}

describe('analytics write batch (real SQLite file)', () => {
  it('writes at once when a batch fills, and not before', async (t) => {
    const { batch, nextWrite, rows } = await openBatch(t, { maxBatch: 5, flushMs: 60_000 })
    for (let i = 0; i < 4; i++) batch.add(event(`b${i}`))
    assert.deepEqual(batch.stats(), { queued: 4, written: 0, failed: 0, dropped: 0, writes: 0 }, 'four of five: still queued (the interval is a minute)')
    const written = nextWrite()
    batch.add(event('b4'))
    assert.equal(batch.stats().writes, 1, 'the fifth started the write in the same tick')
    assert.equal(batch.stats().queued, 0)
    assert.equal(await written, 5)
    assert.deepEqual((await rows()).sort(), ['b0', 'b1', 'b2', 'b3', 'b4'])
    assert.equal(batch.stats().written, 5)
  })

  it('writes what is queued when the interval has passed, in one transaction', async (t) => {
    const { batch, nextWrite, rows } = await openBatch(t, { maxBatch: 1000, flushMs: 20 })
    const written = nextWrite()
    for (let i = 0; i < 3; i++) batch.add(event(`b${i}`))
    assert.equal(batch.stats().writes, 0, 'nothing is written on the request path')
    assert.equal(await written, 3, 'one write took all three')
    assert.equal((await rows()).length, 3)
    assert.deepEqual(batch.stats(), { queued: 0, written: 3, failed: 0, dropped: 0, writes: 1 })
  })

  it('flush() writes everything added before it, across batches and a write in flight, and resolves at once when nothing waits', async (t) => {
    const { batch, rows } = await openBatch(t, { maxBatch: 4, flushMs: 60_000 })
    await batch.flush()
    for (let i = 0; i < 10; i++) batch.add(event(`b${String(i).padStart(2, '0')}`))
    // Two full batches started by size (one in flight, the next waiting for it) and two queued.
    assert.equal(batch.stats().queued, 6)
    await batch.flush()
    assert.deepEqual(batch.stats(), { queued: 0, written: 10, failed: 0, dropped: 0, writes: 3 })
    assert.equal((await rows()).length, 10)
    batch.add(event('late'))
    const flushed = batch.flush()
    batch.add(event('after the flush'))
    await flushed
    assert.ok((await rows()).includes('late'))
    await batch.flush()
    assert.equal((await rows()).length, 12)
  })

  it('stays bounded while the database does not answer: the oldest are dropped, counted and logged once', async (t) => {
    let answer: () => void = () => {}
    const gate = new Promise<void>((resolve) => (answer = resolve))
    const { batch, logged, rows } = await openBatch(t, { maxBatch: 10, maxQueued: 50, flushMs: 60_000, gate })
    for (let i = 0; i < 1000; i++) batch.add(event(`b${String(i).padStart(4, '0')}`))
    assert.deepEqual(batch.stats(), { queued: 50, written: 0, failed: 0, dropped: 940, writes: 1 }, 'ten in the stalled write, the newest fifty queued')
    assert.equal(logged.length, 1, 'one log line for the whole stall, not one per drop')
    assert.match(logged[0]!.message, /install analytics dropped: the database is not keeping up/)
    const flushed = batch.flush()
    answer()
    await flushed
    const kept = await rows()
    assert.equal(kept.length, 60)
    assert.deepEqual(kept.slice().sort().slice(0, 10), Array.from({ length: 10 }, (_, i) => `b${String(i).padStart(4, '0')}`), 'the batch in flight was written')
    assert.deepEqual(kept.slice().sort().slice(10), Array.from({ length: 50 }, (_, i) => `b${String(950 + i).padStart(4, '0')}`), 'the newest were kept')
    assert.deepEqual(batch.stats(), { queued: 0, written: 60, failed: 0, dropped: 940, writes: 6 })
  })

  it('a failed transaction is logged and counted, writes nothing, and the next batch is written as usual', async (t) => {
    const { db, batch, logged, rows } = await openBatch(t, { maxBatch: 100, flushMs: 60_000 })
    // Another connection to the same file takes the table away: the batch's INSERT fails in SQLite.
    const path = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db)).rows[0]!.file
    const other = new DatabaseSync(path)
    t.after(() => other.close())
    other.exec('ALTER TABLE install_events RENAME TO install_events_away')
    batch.add(event('lost-1'))
    batch.add(event('lost-2'))
    await batch.flush()
    assert.deepEqual(batch.stats(), { queued: 0, written: 0, failed: 2, dropped: 0, writes: 1 })
    assert.equal(logged.length, 1)
    assert.equal(logged[0]!.message, 'install analytics not recorded: the write failed')
    assert.match(String((logged[0]!.object as { err: Error }).err), /no such table: install_events/)
    assert.equal((logged[0]!.object as { items: number }).items, 2)
    other.exec('ALTER TABLE install_events_away RENAME TO install_events')
    batch.add(event('kept'))
    await batch.flush()
    assert.deepEqual(await rows(), ['kept'], 'the failed batch left no row; the next one was written')
    assert.equal(batch.stats().written, 1)
  })
})

describe('insertChunks', () => {
  it('covers every row with a few distinct statement sizes', () => {
    for (const count of [0, 1, 2, 63, 64, 65, 127, 500, 1000, 20_000]) {
      const sizes = insertChunks(count)
      assert.equal(sizes.reduce((sum, size) => sum + size, 0), count, String(count))
      assert.ok(sizes.every((size) => size >= 1 && size <= 64 && Number.isInteger(Math.log2(size))), String(sizes))
    }
    const distinct = new Set(Array.from({ length: 1001 }, (_, count) => insertChunks(count)).flat())
    assert.deepEqual([...distinct].sort((a, b) => a - b), [1, 2, 4, 8, 16, 32, 64])
  })
})

for (const adapter of ADAPTERS) {
  describe(`analytics store batches (${adapter.name})`, () => {
    it('writes runs of events as multi-row INSERTs, alike events as one counted row, every column in its place, in order around downloads', async (t) => {
      const clock = manualClock()
      const { db } = await adapter.open(t, { now: clock.now })
      const store = createSqlAnalyticsStore(db, { now: clock.now })
      const tester = (i: number): InstallActor => ({ buildId: `build-${i % 3}`, bundleId: `com.example.b${i % 2}`, testerId: i % 5 === 0 ? `tester-${i}` : null, grantId: i % 7 === 0 ? `grant-${i}` : null })
      const kinds = ['page-view', 'manifest'] as const
      const records: AnalyticsRecord[] = []
      for (let i = 0; i < 150; i++) records.push({ type: 'event', actor: tester(i), kind: kinds[i % 2]! })
      records.push({ type: 'download', sessionId: 'session-1', actor: tester(1), size: 100, sent: null })
      for (let i = 150; i < 220; i++) records.push({ type: 'event', actor: tester(i), kind: kinds[i % 2]! })
      records.push({ type: 'download', sessionId: 'session-1', actor: tester(1), size: 100, sent: { start: 0, end: 100 } })

      const results = await store.recordBatch(records)
      assert.equal(results.length, records.length)
      const ids = results.filter((result): result is string => typeof result === 'string')
      assert.equal(ids.length, 220)
      assert.equal(new Set(ids).size, 220, 'every event has its own id')
      const rowIdOf = (id: string): string => id.replace(/\.\d+$/, '')
      assert.ok(ids.every((id) => isId(rowIdOf(id))), 'row ids have the shape of every other id')
      assert.deepEqual(results[150], { started: true, completed: false, coveredBytes: 0 })
      assert.deepEqual(results[221], { started: false, completed: true, coveredBytes: 100 })

      // Alike events (same actor and kind) of one run share a row; the download splits the runs.
      const key = (i: number): string => JSON.stringify([tester(i), kinds[i % 2]])
      const distinct = (from: number, to: number): number => new Set(Array.from({ length: to - from }, (_, k) => key(from + k))).size
      const rows = await db.selectFrom('install_events').selectAll().execute()
      assert.equal(rows.length, distinct(0, 150) + distinct(150, 220) + 2, 'one row per alike run + download-started + download-completed')
      assert.ok(rows.length < 150, `alike events were combined (${rows.length} rows)`)
      const byId = new Map(rows.map((row) => [row.id, row]))
      const seen = new Map<string, number>()
      for (const [i, id] of ids.entries()) {
        const expected = tester(i)
        const row = byId.get(rowIdOf(id))!
        assert.deepEqual(
          [row.build_id, row.bundle_id, row.tester_id, row.grant_id, row.kind, row.created_at],
          [expected.buildId, expected.bundleId, expected.testerId, expected.grantId, kinds[i % 2], clock.now().toISOString()],
          `event ${i}`,
        )
        seen.set(row.id, (seen.get(row.id) ?? 0) + 1)
      }
      for (const [rowId, events] of seen) assert.equal(Number(byId.get(rowId)!.count), events, `row ${rowId} counts its events`)
      assert.deepEqual(rows.filter((row) => row.kind.startsWith('download')).map((row) => [row.kind, Number(row.count)]).sort(), [['download-completed', 1], ['download-started', 1]])
      const ofBuild1 = records.filter((record) => record.type === 'event' && record.actor.buildId === 'build-1')
      const count = (kind: string): number => ofBuild1.filter((record) => record.type === 'event' && record.kind === kind).length
      assert.deepEqual((await store.buildCounts('build-1')).totals, { pageViews: count('page-view'), manifestFetches: count('manifest'), downloadsStarted: 1, downloadsCompleted: 1 })
      const ofApp0 = records.filter((record) => record.type === 'event' && record.actor.bundleId === 'com.example.b0')
      assert.equal((await store.appCounts('com.example.b0')).totals.manifestFetches, ofApp0.filter((record) => record.type === 'event' && record.kind === 'manifest').length)
    })

    if (adapter.name === 'sqlite') {
      it('commits analytics without a WAL sync and puts synchronous back for everything else', async (t) => {
        const { db } = await adapter.open(t)
        const store = createSqlAnalyticsStore(db)
        const synchronous = async (): Promise<number> => Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]!.synchronous)
        assert.equal(await synchronous(), 2, 'FULL, as src/store/sqlite-dialect.ts opens it')
        await store.recordBatch([event('b1'), event('b2')])
        assert.equal(await synchronous(), 2)
        // Also after a failed batch: a download without a size breaks the NOT NULL of download_sessions.size.
        await assert.rejects(store.recordBatch([event('b3'), { type: 'download', sessionId: 's', actor: actor('b3'), size: Number.NaN, sent: null }]))
        assert.equal(await synchronous(), 2)
        assert.equal((await db.selectFrom('install_events').select('id').where('build_id', '=', 'b3').execute()).length, 0, 'the failed batch was rolled back whole')
      })
    }
  })
}
