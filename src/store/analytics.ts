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
  const eventRow = (actor: InstallActor, kind: InstallEventKind) => ({
    id: ctx.newId(), build_id: actor.buildId, bundle_id: actor.bundleId, tester_id: actor.testerId, grant_id: actor.grantId, kind, created_at: ctx.now().toISOString(),
  })

  const grouped = async (where: { column: 'build_id' | 'bundle_id'; value: string }, by: 'build_id' | 'tester_id') => {
    const rows = await db
      .selectFrom('install_events')
      .select([by, 'kind', (eb) => eb.fn.countAll().as('n')])
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
    const row = eventRow(actor, kind)
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

  const recordBatch = (records: AnalyticsRecord[]): Promise<Array<string | DownloadProgress>> =>
    db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
      const results: Array<string | DownloadProgress> = []
      for (const record of records) {
        results.push(record.type === 'event' ? await recordEvent(trx, record.actor, record.kind) : await recordDownload(trx, record.sessionId, record.actor, record.size, record.sent))
      }
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

function emptyCounts(): InstallCounts {
  return { pageViews: 0, manifestFetches: 0, downloadsStarted: 0, downloadsCompleted: 0 }
}

function sumCounts(all: Iterable<InstallCounts>): InstallCounts {
  const total = emptyCounts()
  for (const counts of all) for (const key of Object.keys(total) as Array<keyof InstallCounts>) total[key] += counts[key]
  return total
}
