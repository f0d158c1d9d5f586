import type { Insertable, Kysely, Selectable } from 'kysely'
import { AirstripError } from '../errors.ts'
import { toAppRecord } from './apps.ts'
import { decodeBuildCursor, encodeBuildCursor } from './build-cursor.ts'
import type { BuildsTable, Database } from './database.ts'
import type { AppRecord, BuildPage, BuildRecord, NewBuild } from './records.ts'
import { DEFAULT_CHANNEL, ensureChannel } from './channels.ts'

/** What the queries need from outside: a clock and an id source (both injectable for tests). */
export interface StoreContext {
  now: () => Date
  newId: () => string
}

/** The most a page of builds holds, whatever the caller asks for. */
export const MAX_PAGE_SIZE = 500

/** Maps a `builds` row to the record routes use (JSON columns parsed). */
export function toBuildRecord(row: Selectable<BuildsTable>): BuildRecord {
  return {
    id: row.id,
    appId: row.app_id,
    bundleId: row.bundle_id,
    name: row.name,
    version: row.version,
    build: row.build,
    size: Number(row.size),
    sha256: row.sha256,
    chunkSize: Number(row.chunk_size),
    chunkSha256s: JSON.parse(row.chunk_sha256s) as string[],
    iconSha256: row.icon_sha256,
    notes: row.notes,
    fileName: row.file_name,
    createdAt: row.created_at,
    info: JSON.parse(row.info) as BuildRecord['info'],
    channel: row.channel,
    keep: Number(row.keep) === 1,
  }
}

/**
 * Records a build in one transaction: upserts its app by bundle id (taking the build's name when
 * the build is the app's newest; an import of an older build leaves the name alone), then inserts
 * the build. Either both happen or neither does.
 */
export async function insertBuild(db: Kysely<Database>, ctx: StoreContext, input: NewBuild): Promise<{ app: AppRecord; build: BuildRecord }> {
  const createdAt = isoTime(input.createdAt ?? ctx.now().toISOString())
  // READ COMMITTED whatever the PostgreSQL server's default: ON CONFLICT and the app row lock in
  // `deleteBuild` settle concurrent instances at it (stricter levels would abort them). SQLite ignores it.
  return db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
    const upserted = await trx
      .insertInto('apps')
      .values({ id: ctx.newId(), bundle_id: input.bundleId, name: input.name, created_at: createdAt, updated_at: createdAt })
      .onConflict((oc) =>
        oc
          .column('bundle_id')
          .doUpdateSet((eb) => ({ name: eb.ref('excluded.name'), updated_at: eb.ref('excluded.updated_at') }))
          .where('apps.updated_at', '<=', createdAt),
      )
      .returningAll()
      .executeTakeFirst()
    // No row back: the app exists and already has a newer build, so it was left as it is.
    const app = upserted ?? (await trx.selectFrom('apps').selectAll().where('bundle_id', '=', input.bundleId).executeTakeFirstOrThrow())
    const row: Insertable<BuildsTable> & Selectable<BuildsTable> = {
      id: ctx.newId(),
      app_id: app.id,
      bundle_id: input.bundleId,
      name: input.name,
      version: input.version,
      build: input.build,
      size: input.size,
      sha256: input.sha256,
      chunk_size: input.chunkSize,
      chunk_sha256s: JSON.stringify(input.chunkSha256s),
      icon_sha256: input.iconSha256,
      notes: input.notes,
      file_name: input.fileName,
      created_at: createdAt,
      info: JSON.stringify(input.info),
      channel: input.channel ?? DEFAULT_CHANNEL,
      keep: 0,
    }
    await trx.insertInto('builds').values(row).execute()
    await ensureChannel(trx, row.bundle_id, row.channel, createdAt)
    return { app: toAppRecord(app), build: toBuildRecord(row) }
  })
}

/** The build with this id, or null. */
export async function getBuild(db: Kysely<Database>, id: string): Promise<BuildRecord | null> {
  const row = await db.selectFrom('builds').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toBuildRecord(row) : null
}

/**
 * Replaces a build's release notes (null: none) and returns the build as it now is, or null when
 * there is no such build. The caller validates the text (src/builds/release-notes-edit.ts).
 */
export async function updateReleaseNotes(db: Kysely<Database>, id: string, notes: string | null): Promise<BuildRecord | null> {
  const row = await db.updateTable('builds').set({ notes }).where('id', '=', id).returningAll().executeTakeFirst()
  return row ? toBuildRecord(row) : null
}

/** The app's newest build, or null when it has none. */
export async function latestBuild(db: Kysely<Database>, appId: string): Promise<BuildRecord | null> {
  const row = await db.selectFrom('builds').selectAll().where('app_id', '=', appId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst()
  return row ? toBuildRecord(row) : null
}

/**
 * Builds newest first, optionally of one app. Keyset pagination on (created_at, id): a page
 * stays correct while builds are added or deleted, and costs the same however deep it is.
 * `limit` is clamped to 1…MAX_PAGE_SIZE; a cursor we did not issue is a `bad-request`.
 */
export async function listBuilds(db: Kysely<Database>, query: { appId?: string | undefined; limit: number; cursor?: string | undefined }): Promise<BuildPage> {
  const limit = Math.min(Math.max(1, Math.floor(query.limit) || 1), MAX_PAGE_SIZE)
  let select = db.selectFrom('builds').selectAll()
  if (query.appId !== undefined) select = select.where('app_id', '=', query.appId)
  if (query.cursor) {
    const after = decodeBuildCursor(query.cursor)
    select = select.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]))
  }
  const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute()
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const nextCursor = rows.length > limit && last ? encodeBuildCursor({ createdAt: last.created_at, id: last.id }) : null
  return { builds: page.map(toBuildRecord), nextCursor }
}

/**
 * Deletes a build and returns it (null if there was none). In the same transaction the app
 * follows its newest remaining build (name, updated_at), or is deleted with its last build.
 * Blobs are the caller's business: see `countBuildsWithSha256`.
 */
export async function deleteBuild(db: Kysely<Database>, id: string): Promise<BuildRecord | null> {
  return db.transaction().setIsolationLevel('read committed').execute(async (trx) => {
    const row = await trx.deleteFrom('builds').where('id', '=', id).returningAll().executeTakeFirst()
    if (!row) return null
    // Lock the app row before deciding its fate: an upload of the same app on another instance
    // (PostgreSQL) then either committed its build first, which we see below, or waits for us and
    // re-creates the app if we delete it. (A no-op update locks on both engines; SQLite has one writer anyway.)
    await trx.updateTable('apps').set((eb) => ({ name: eb.ref('apps.name') })).where('id', '=', row.app_id).execute()
    const newest = await trx
      .selectFrom('builds')
      .select(['name', 'created_at'])
      .where('app_id', '=', row.app_id)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (newest) await trx.updateTable('apps').set({ name: newest.name, updated_at: newest.created_at }).where('id', '=', row.app_id).execute()
    else await trx.deleteFrom('apps').where('id', '=', row.app_id).execute()
    return toBuildRecord(row)
  })
}

/** How many builds still use this .ipa blob; 0 means the blob may be deleted. */
export async function countBuildsWithSha256(db: Kysely<Database>, sha256: string): Promise<number> {
  const row = await db.selectFrom('builds').select((eb) => eb.fn.countAll().as('n')).where('sha256', '=', sha256).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** How many builds still use this icon blob; 0 means the blob may be deleted. */
export async function countBuildsWithIconSha256(db: Kysely<Database>, sha256: string): Promise<number> {
  const row = await db.selectFrom('builds').select((eb) => eb.fn.countAll().as('n')).where('icon_sha256', '=', sha256).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Normalises a time to ISO 8601 UTC with milliseconds, the one format whose text order is time order. */
function isoTime(text: string): string {
  const time = new Date(text)
  if (Number.isNaN(time.getTime())) throw new AirstripError('bad-request', `not a valid time: ${JSON.stringify(text)}`)
  return time.toISOString()
}
