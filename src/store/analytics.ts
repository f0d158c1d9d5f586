import { randomBytes } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import { CompiledQuery, SqliteAdapter, sql } from 'kysely'
import type { Kysely, Transaction } from 'kysely'
import { addInterval, coversWhole, parseIntervals } from '../access/byte-coverage.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'

type Db = Kysely<Database> | Transaction<Database>

export const INSTALL_EVENT_KINDS = ['page-view', 'manifest', 'download-started', 'download-completed'] as const
export type InstallEventKind = (typeof INSTALL_EVENT_KINDS)[number]

/** Who did something with which build: a tester when the link was a personal one. */
export interface InstallActor {
  buildId: string
  bundleId: string
  testerId: string | null
  grantId: string | null
}

export interface InstallCounts {
  pageViews: number
  /** The installer fetched the manifest: an install started. */
  manifestFetches: number
  downloadsStarted: number
  /** Every byte of the .ipa was sent within one download (ranges combined). */
  downloadsCompleted: number
}

export interface TesterCounts extends InstallCounts {
  testerId: string
  /** Null when the tester has since been deleted. */
  name: string | null
  email: string | null
}

export interface BuildCounts extends InstallCounts {
  buildId: string
}

/** What one piece of a download changed. */
export interface DownloadProgress {
  /** The session is new: a download started. */
  started: boolean
  /** This piece completed the file (reported once per session). */
  completed: boolean
  coveredBytes: number
}

/** One thing to record: an event, or a piece of a download (`sent` null: the download's request arrived). */
export type AnalyticsRecord =
  | { type: 'event'; actor: InstallActor; kind: InstallEventKind }
  | { type: 'download'; sessionId: string; actor: InstallActor; size: number; sent: { start: number; end: number } | null }

/**
 * Install analytics: events (page views, manifest fetches, downloads started and completed) and
 * download sessions with the byte ranges sent so far. Counts are per build and per tester.
 */
export interface AnalyticsStore {
  /**
   * Records many things in one transaction (one commit, one fsync, however busy the server is), in
   * order; answers each with its event id or its download progress.
   */
  recordBatch(records: AnalyticsRecord[]): Promise<Array<string | DownloadProgress>>
  recordEvent(actor: InstallActor, kind: InstallEventKind): Promise<string>
  /**
   * Adds bytes [start, end) sent in download `sessionId` of a `size`-byte file; the first call for a
   * session records `download-started`, the one that makes the ranges cover the file `download-completed`.
   * One transaction, the session row locked: concurrent ranged requests of one session are counted once.
   */
  recordDownload(sessionId: string, actor: InstallActor, size: number, sent: { start: number; end: number } | null): Promise<DownloadProgress>
  buildCounts(buildId: string): Promise<{ totals: InstallCounts; testers: TesterCounts[] }>
  appCounts(bundleId: string): Promise<{ totals: InstallCounts; builds: BuildCounts[]; testers: TesterCounts[] }>
}

const COLUMN: Record<InstallEventKind, keyof InstallCounts> = {
  'page-view': 'pageViews',
  manifest: 'manifestFetches',
  'download-started': 'downloadsStarted',
  'download-completed': 'downloadsCompleted',
}

export function createSqlAnalyticsStore(db: Kysely<Database>, options: Partial<StoreContext> = {}): AnalyticsStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  const eventIds = (count: number, now: Date): string[] => (options.newId ? Array.from({ length: count }, options.newId) : timeOrderedIds(count, now))
  const eventRow = (actor: InstallActor, kind: InstallEventKind, id: string, createdAt: string) => ({
    id, build_id: actor.buildId, bundle_id: actor.bundleId, tester_id: actor.testerId, grant_id: actor.grantId, kind, created_at: createdAt,
  })

  const grouped = async (where: { column: 'build_id' | 'bundle_id'; value: string }, by: 'build_id' | 'tester_id') => {
    const rows = await db
      .selectFrom('install_events')
      .select([by, 'kind', (eb) => eb.fn.sum<number | string>('count').as('n')])
      .where(where.column, '=', where.value)
      .groupBy([by, 'kind'])
      .execute()
    const counts = new Map<string | null, InstallCounts>()
    for (const row of rows) {
      const key = (row as Record<string, unknown>)[by] as string | null
      const entry = counts.get(key) ?? emptyCounts()
      const column = COLUMN[row.kind as InstallEventKind]
      if (column) entry[column] += Number(row.n)
      counts.set(key, entry)
    }
    return counts
  }

  const testerRows = async (counts: Map<string | null, InstallCounts>): Promise<TesterCounts[]> => {
    const ids = [...counts.keys()].filter((id): id is string => id !== null)
    if (ids.length === 0) return []
    const testers = await db.selectFrom('testers').select(['id', 'name', 'email']).where('id', 'in', ids).execute()
    const byId = new Map(testers.map((tester) => [tester.id, tester]))
    return ids
      .map((id) => ({ testerId: id, name: byId.get(id)?.name ?? null, email: byId.get(id)?.email ?? null, ...counts.get(id)! }))
      .sort((a, b) => (a.name ?? '￿').localeCompare(b.name ?? '￿') || a.testerId.localeCompare(b.testerId))
  }

  const recordEvent = async (trx: Db, actor: InstallActor, kind: InstallEventKind): Promise<string> => {
    const now = ctx.now()
    const row = eventRow(actor, kind, eventIds(1, now)[0]!, now.toISOString())
    await trx.insertInto('install_events').values(row).execute()
    return row.id
  }

  const recordDownload = async (trx: Db, sessionId: string, actor: InstallActor, size: number, sent: { start: number; end: number } | null): Promise<DownloadProgress> => {
    const now = ctx.now().toISOString()
    const inserted = await trx
      .insertInto('download_sessions')
      .values({
        id: sessionId, build_id: actor.buildId, bundle_id: actor.bundleId, tester_id: actor.testerId, grant_id: actor.grantId,
        size, covered: '[]', bytes_sent: 0, started_at: now, updated_at: now, completed_at: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst()
    const started = inserted.numInsertedOrUpdatedRows !== undefined && inserted.numInsertedOrUpdatedRows > 0n
    if (started) await recordEvent(trx, actor, 'download-started')
    // Lock the row (a no-op update locks on PostgreSQL; SQLite has one writer) before reading what it covers.
    await trx.updateTable('download_sessions').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', sessionId).execute()
    const session = await trx.selectFrom('download_sessions').select(['covered', 'completed_at', 'size']).where('id', '=', sessionId).executeTakeFirstOrThrow()
    let covered = parseIntervals(session.covered)
    const piece = sent && sent.end > sent.start ? sent : null
    if (piece) covered = addInterval(covered, piece.start, piece.end)
    const completed = session.completed_at === null && coversWhole(covered, Number(session.size))
    if (piece) {
      await trx
        .updateTable('download_sessions')
        .set((eb) => ({ covered: JSON.stringify(covered), bytes_sent: eb('bytes_sent', '+', piece.end - piece.start), updated_at: now, ...(completed ? { completed_at: now } : {}) }))
        .where('id', '=', sessionId)
        .execute()
    }
    if (completed) await recordEvent(trx, actor, 'download-completed')
    return { started, completed, coveredBytes: covered.reduce((sum, [a, b]) => sum + (b - a), 0) }
  }

  // The INSERT of `size` event rows, compiled once by Kysely for this database's dialect: building
  // and compiling a 64-row INSERT per chunk cost more than SQLite's own work for it.
  const insertTexts = new Map<number, string>()
  const insertText = (size: number): string => {
    let text = insertTexts.get(size)
    if (text === undefined) {
      // Any values: only the columns and their order (EVENT_COLUMNS) make the SQL text.
      const sample = Object.fromEntries(EVENT_COLUMNS.map((column) => [column, column === 'count' ? 1 : column])) as Record<Exclude<(typeof EVENT_COLUMNS)[number], 'count'>, string> & { count: number }
      text = db.insertInto('install_events').values(Array.from({ length: size }, () => sample)).compile().sql
      insertTexts.set(size, text)
    }
    return text
  }

  // A run of events is written as one row per distinct (actor, kind) with its count, as multi-row
  // INSERTs of up to 64 rows: a burst of manifest fetches for one build (a link posted to a team
  // chat, a load test) costs one row per batch, not one per request. Each event still gets its own
  // id (webhooks are keyed by it): its row's id, then `.1`, `.2`, … for the others the row counts.
  const recordEvents = async (trx: Db, events: Array<{ actor: InstallActor; kind: InstallEventKind }>): Promise<string[]> => {
    type Row = { actor: InstallActor; kind: InstallEventKind; count: number; id: string }
    const rows = new Map<string, Row>()
    const eventRows: Array<{ row: Row; index: number }> = []
    for (const { actor, kind } of events) {
      const key = `${kind}\n${actor.buildId}\n${actor.bundleId}\n${actor.testerId ?? ''}\n${actor.grantId ?? ''}`
      let row = rows.get(key)
      if (!row) rows.set(key, (row = { actor, kind, count: 0, id: '' }))
      eventRows.push({ row, index: row.count++ })
    }
    const now = ctx.now()
    const distinct = [...rows.values()]
    const ids = eventIds(distinct.length, now)
    for (const [index, row] of distinct.entries()) row.id = ids[index]!
    const createdAt = now.toISOString()
    let offset = 0
    for (const size of insertChunks(distinct.length)) {
      // Row by row, in EVENT_COLUMNS order: the order of the compiled INSERT's parameters.
      const parameters: Array<string | number | null> = []
      for (let index = offset; index < offset + size; index++) {
        const { id, actor, kind, count } = distinct[index]!
        parameters.push(id, actor.buildId, actor.bundleId, actor.testerId, actor.grantId, kind, createdAt, count)
      }
      await trx.executeQuery(CompiledQuery.raw(insertText(size), parameters))
      offset += size
      // node:sqlite blocks the event loop while it works: let requests through between statements.
      if (offset < distinct.length) await setImmediate()
    }
    return eventRows.map(({ row, index }) => (index === 0 ? row.id : `${row.id}.${index}`))
  }

  // SQLite: analytics commit without waiting for the disk (synchronous=NORMAL for this transaction
  // only). node:sqlite runs on the event loop, so the WAL fsync of every batch stalled every request
  // for its duration. In WAL mode a NORMAL commit survives a crash of the process (it is in the OS's
  // page cache) and only a power loss can undo it, until the next FULL commit (any build, setting,
  // …) syncs the WAL with it; the database stays consistent either way. PostgreSQL commits as usual.
  const onSqlite = db.getExecutor().adapter instanceof SqliteAdapter
  const transaction = <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> => {
    if (!onSqlite) return db.transaction().setIsolationLevel('read committed').execute(work)
    return db.connection().execute(async (connection) => {
      const before = (await sql<{ synchronous: number }>`pragma synchronous`.execute(connection)).rows[0]?.synchronous ?? 2
      await sql`pragma synchronous = normal`.execute(connection)
      try {
        return await connection.transaction().execute(work)
      } finally {
        await sql.raw(`pragma synchronous = ${Number(before)}`).execute(connection)
      }
    })
  }

  const recordBatch = (records: AnalyticsRecord[]): Promise<Array<string | DownloadProgress>> =>
    transaction(async (trx) => {
      const results: Array<string | DownloadProgress> = []
      let events: Array<{ actor: InstallActor; kind: InstallEventKind }> = []
      const writeEvents = async (): Promise<void> => {
        if (events.length > 0) results.push(...(await recordEvents(trx, events)))
        events = []
      }
      // In order: a download's own events (started, completed) come after the events queued before it.
      for (const record of records) {
        if (record.type === 'event') {
          events.push(record)
          continue
        }
        await writeEvents()
        results.push(await recordDownload(trx, record.sessionId, record.actor, record.size, record.sent))
      }
      await writeEvents()
      return results
    })

  return {
    recordBatch,
    recordEvent: async (actor, kind) => (await recordBatch([{ type: 'event', actor, kind }]))[0] as string,
    recordDownload: async (sessionId, actor, size, sent) => (await recordBatch([{ type: 'download', sessionId, actor, size, sent }]))[0] as DownloadProgress,

    async buildCounts(buildId) {
      const byTester = await grouped({ column: 'build_id', value: buildId }, 'tester_id')
      return { totals: sumCounts(byTester.values()), testers: await testerRows(byTester) }
    },

    async appCounts(bundleId) {
      const byBuild = await grouped({ column: 'bundle_id', value: bundleId }, 'build_id')
      const byTester = await grouped({ column: 'bundle_id', value: bundleId }, 'tester_id')
      const builds = [...byBuild.entries()].map(([buildId, counts]) => ({ buildId: buildId as string, ...counts })).sort((a, b) => a.buildId.localeCompare(b.buildId))
      return { totals: sumCounts(byBuild.values()), builds, testers: await testerRows(byTester) }
    },
  }
}

/** The columns of an install event, in the order `recordEvents` passes their values. */
const EVENT_COLUMNS = ['id', 'build_id', 'bundle_id', 'tester_id', 'grant_id', 'kind', 'created_at', 'count'] as const

/** The most rows one INSERT carries (8 parameters each: far below SQLite's and PostgreSQL's limits). */
const MAX_INSERT_ROWS = 64

/**
 * Splits `count` rows into INSERTs of 64, then powers of two: a handful of distinct statements,
 * which the SQLite adapter keeps prepared, whatever the batch sizes.
 */
export function insertChunks(count: number): number[] {
  const sizes: number[] = []
  let left = count
  while (left >= MAX_INSERT_ROWS) {
    sizes.push(MAX_INSERT_ROWS)
    left -= MAX_INSERT_ROWS
  }
  for (let size = MAX_INSERT_ROWS / 2; size >= 1; size /= 2) {
    if (left >= size) {
      sizes.push(size)
      left -= size
    }
  }
  return sizes
}

/**
 * Install-event ids: the shape of `newId()` (16 bytes, base64url, unguessable with 80 random
 * bits) but starting with the time in ms, so ids made close together sort close together and
 * inserts land in one corner of the primary-key index. With fully random ids every insert touched
 * a random leaf of it, which grew slower as the table outgrew SQLite's page cache (measured: ~10 µs
 * a row at 100k events, ~70 µs at 400k; time-first ids stayed at ~10 µs).
 */
function timeOrderedIds(count: number, now: Date): string[] {
  const random = randomBytes(count * 10)
  const id = Buffer.allocUnsafe(16)
  id.writeUIntBE(now.getTime(), 0, 6)
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    random.copy(id, 6, i * 10, i * 10 + 10)
    ids.push(id.toString('base64url'))
  }
  return ids
}

function emptyCounts(): InstallCounts {
  return { pageViews: 0, manifestFetches: 0, downloadsStarted: 0, downloadsCompleted: 0 }
}

function sumCounts(all: Iterable<InstallCounts>): InstallCounts {
  const total = emptyCounts()
  for (const counts of all) for (const key of Object.keys(total) as Array<keyof InstallCounts>) total[key] += counts[key]
  return total
}
