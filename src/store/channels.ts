import type { Kysely, Selectable, Transaction } from 'kysely'
import { effectivePolicy, isAccessMode, isChannelAccess, type AccessMode, type ChannelAccess, type EffectivePolicy } from '../access/access-policy.ts'
import { DEFAULT_CHANNEL } from '../access/channel-name.ts'
import type { RetentionPolicy } from '../access/retention-plan.ts'
import { AirstripError } from '../errors.ts'
import type { ChannelsTable } from './access-tables.ts'
import { toBuildRecord, type StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'
import type { BuildRecord } from './records.ts'

export { DEFAULT_CHANNEL }

type Db = Kysely<Database> | Transaction<Database>

/** A channel of an app (apps → channels → builds), with what lists show about its builds. */
export interface ChannelRecord {
  bundleId: string
  name: string
  /** Its own access mode, or 'inherit' (the app's). */
  access: ChannelAccess
  retention: RetentionPolicy
  buildCount: number
  /** Its newest build, or null when it is empty. */
  latestBuildId: string | null
  createdAt: string
  updatedAt: string
}

export interface ChannelPatch {
  access?: ChannelAccess | undefined
  /** Replaces the rules given; `null` turns a rule off. */
  retention?: Partial<RetentionPolicy> | undefined
}

/**
 * Channels, the app-level access mode and the build fields channels add (`channel`, `keep`). Apps
 * are named by bundle id (settings outlive the app row, see access-tables.ts). Routes, the upload
 * path, retention and the admin UI use this; a PostgreSQL adapter is the same code (test/store ADAPTERS).
 */
export interface ChannelStore {
  /** The app's channels by name, with build counts; channels exist once a build or a setting names them. */
  listChannels(bundleId: string): Promise<ChannelRecord[]>
  getChannel(bundleId: string, name: string): Promise<ChannelRecord | null>
  /** Creates the channel when missing, then applies the patch. */
  updateChannel(bundleId: string, name: string, patch: ChannelPatch): Promise<ChannelRecord>
  /** Deletes an empty channel (`channel-not-empty` otherwise); false when there was none. */
  deleteChannel(bundleId: string, name: string): Promise<boolean>
  /** The channel's builds, newest first. */
  listChannelBuilds(bundleId: string, name: string, limit: number): Promise<BuildRecord[]>
  /** Every channel that has a retention rule. */
  listChannelsWithRetention(): Promise<ChannelRecord[]>
  /** Marks or unmarks a build "keep"; null when there is no such build. */
  setBuildKeep(buildId: string, keep: boolean): Promise<BuildRecord | null>
  /** Moves a build to another channel (created when missing); null when there is no such build. */
  moveBuild(buildId: string, channel: string): Promise<BuildRecord | null>
  /** The app's own mode; an app never configured is public. */
  getAppAccess(bundleId: string): Promise<AccessMode>
  setAppAccess(bundleId: string, mode: AccessMode): Promise<AccessMode>
  /** The mode that applies to a channel of the app, and where it is defined. */
  effectivePolicy(bundleId: string, channel: string): Promise<EffectivePolicy>
}

export function createSqlChannelStore(db: Kysely<Database>, options: Partial<StoreContext> = {}): ChannelStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  return {
    listChannels: (bundleId) => listChannels(db, bundleId),
    getChannel: async (bundleId, name) => (await listChannels(db, bundleId, name))[0] ?? null,
    updateChannel: (bundleId, name, patch) => updateChannel(db, ctx, bundleId, name, patch),
    deleteChannel: (bundleId, name) => deleteChannel(db, bundleId, name),
    listChannelBuilds: (bundleId, name, limit) => listChannelBuilds(db, bundleId, name, limit),
    listChannelsWithRetention: () => listChannelsWithRetention(db),
    setBuildKeep: async (buildId, keep) => {
      await db.updateTable('builds').set({ keep: keep ? 1 : 0 }).where('id', '=', buildId).execute()
      const row = await db.selectFrom('builds').selectAll().where('id', '=', buildId).executeTakeFirst()
      return row ? toBuildRecord(row) : null
    },
    moveBuild: (buildId, channel) =>
      db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('builds').set({ channel }).where('id', '=', buildId).returningAll().executeTakeFirst()
        if (!row) return null
        await ensureChannel(trx, row.bundle_id, channel, ctx.now().toISOString())
        return toBuildRecord(row)
      }),
    getAppAccess: (bundleId) => getAppAccess(db, bundleId),
    async setAppAccess(bundleId, mode) {
      const updatedAt = ctx.now().toISOString()
      await db
        .insertInto('app_access')
        .values({ bundle_id: bundleId, access: mode, updated_at: updatedAt })
        .onConflict((oc) => oc.column('bundle_id').doUpdateSet({ access: mode, updated_at: updatedAt }))
        .execute()
      return mode
    },
    async effectivePolicy(bundleId, channel) {
      const [appMode, row] = await Promise.all([
        getAppAccess(db, bundleId),
        db.selectFrom('channels').select('access').where('bundle_id', '=', bundleId).where('name', '=', channel).executeTakeFirst(),
      ])
      return effectivePolicy(bundleId, appMode, { name: channel, access: toChannelAccess(row?.access) })
    },
  }
}

/** Creates the channel row when missing (an upload to a new channel creates it); inside the caller's transaction. */
export async function ensureChannel(db: Db, bundleId: string, name: string, at: string): Promise<void> {
  await db
    .insertInto('channels')
    .values({ bundle_id: bundleId, name, access: 'inherit', retention_keep_last: null, retention_max_age_days: null, created_at: at, updated_at: at })
    .onConflict((oc) => oc.columns(['bundle_id', 'name']).doNothing())
    .execute()
}

async function getAppAccess(db: Db, bundleId: string): Promise<AccessMode> {
  const row = await db.selectFrom('app_access').select('access').where('bundle_id', '=', bundleId).executeTakeFirst()
  return row && isAccessMode(row.access) ? row.access : 'public'
}

function toChannelAccess(value: string | undefined): ChannelAccess {
  return isChannelAccess(value) ? value : 'inherit'
}

async function listChannels(db: Db, bundleId: string, only?: string): Promise<ChannelRecord[]> {
  let query = db
    .selectFrom('channels')
    .selectAll('channels')
    .select((eb) => [
      eb.selectFrom('builds as c').select(eb.fn.countAll().as('n')).whereRef('c.bundle_id', '=', 'channels.bundle_id').whereRef('c.channel', '=', 'channels.name').as('build_count'),
      eb
        .selectFrom('builds as l')
        .select('l.id')
        .whereRef('l.bundle_id', '=', 'channels.bundle_id')
        .whereRef('l.channel', '=', 'channels.name')
        .orderBy('l.created_at', 'desc')
        .orderBy('l.id', 'desc')
        .limit(1)
        .as('latest_build_id'),
    ])
    .where('channels.bundle_id', '=', bundleId)
  if (only !== undefined) query = query.where('channels.name', '=', only)
  const rows = await query.orderBy('channels.name').execute()
  return rows.map((row) => toChannelRecord(row, Number(row.build_count ?? 0), row.latest_build_id ?? null))
}

async function listChannelsWithRetention(db: Db): Promise<ChannelRecord[]> {
  const rows = await db
    .selectFrom('channels')
    .select('bundle_id')
    .where((eb) => eb.or([eb('retention_keep_last', 'is not', null), eb('retention_max_age_days', 'is not', null)]))
    .groupBy('bundle_id')
    .orderBy('bundle_id')
    .execute()
  const result: ChannelRecord[] = []
  for (const { bundle_id } of rows) {
    for (const channel of await listChannels(db, bundle_id)) if (channel.retention.keepLast !== null || channel.retention.maxAgeDays !== null) result.push(channel)
  }
  return result
}

async function updateChannel(db: Kysely<Database>, ctx: StoreContext, bundleId: string, name: string, patch: ChannelPatch): Promise<ChannelRecord> {
  const updatedAt = ctx.now().toISOString()
  return db.transaction().execute(async (trx) => {
    await ensureChannel(trx, bundleId, name, updatedAt)
    const set: Partial<Selectable<ChannelsTable>> = { updated_at: updatedAt }
    if (patch.access !== undefined) set.access = patch.access
    if (patch.retention?.keepLast !== undefined) set.retention_keep_last = checkedRule(patch.retention.keepLast, 'keepLast', 1, 100_000)
    if (patch.retention?.maxAgeDays !== undefined) set.retention_max_age_days = checkedRule(patch.retention.maxAgeDays, 'maxAgeDays', 1, 36_500)
    await trx.updateTable('channels').set(set).where('bundle_id', '=', bundleId).where('name', '=', name).execute()
    return (await listChannels(trx, bundleId, name))[0] as ChannelRecord
  })
}

async function deleteChannel(db: Kysely<Database>, bundleId: string, name: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const used = await trx.selectFrom('builds').select('id').where('bundle_id', '=', bundleId).where('channel', '=', name).limit(1).executeTakeFirst()
    if (used) throw new AirstripError('channel-not-empty', `channel ${JSON.stringify(name)} still has builds: delete or move them first`)
    await trx.deleteFrom('access_grants').where('bundle_id', '=', bundleId).where('channel', '=', name).execute()
    const deleted = await trx.deleteFrom('channels').where('bundle_id', '=', bundleId).where('name', '=', name).executeTakeFirst()
    return deleted.numDeletedRows > 0n
  })
}

async function listChannelBuilds(db: Db, bundleId: string, name: string, limit: number): Promise<BuildRecord[]> {
  const rows = await db
    .selectFrom('builds')
    .selectAll()
    .where('bundle_id', '=', bundleId)
    .where('channel', '=', name)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(1, Math.floor(limit) || 1), 100_000))
    .execute()
  return rows.map(toBuildRecord)
}

function checkedRule(value: number | null, what: string, min: number, max: number): number | null {
  if (value === null) return null
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new AirstripError('bad-request', `retention ${what} must be a whole number from ${min} to ${max}, or null`)
  return value
}

function toChannelRecord(row: Selectable<ChannelsTable>, buildCount: number, latestBuildId: string | null): ChannelRecord {
  return {
    bundleId: row.bundle_id,
    name: row.name,
    access: toChannelAccess(row.access),
    retention: {
      keepLast: row.retention_keep_last === null ? null : Number(row.retention_keep_last),
      maxAgeDays: row.retention_max_age_days === null ? null : Number(row.retention_max_age_days),
    },
    buildCount,
    latestBuildId,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}
