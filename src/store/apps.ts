import type { Kysely, Selectable } from 'kysely'
import type { AppsTable, Database } from './database.ts'
import type { AppRecord, AppSummary } from './records.ts'

/** Maps an `apps` row to the record routes use. */
export function toAppRecord(row: Selectable<AppsTable>): AppRecord {
  return { id: row.id, bundleId: row.bundle_id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at }
}

/** The app with this id, or null. */
export async function getApp(db: Kysely<Database>, id: string): Promise<AppRecord | null> {
  const row = await db.selectFrom('apps').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toAppRecord(row) : null
}

/** The app for this bundle id, or null. */
export async function getAppByBundleId(db: Kysely<Database>, bundleId: string): Promise<AppRecord | null> {
  const row = await db.selectFrom('apps').selectAll().where('bundle_id', '=', bundleId).executeTakeFirst()
  return row ? toAppRecord(row) : null
}

/**
 * Every app, most recently built first, with its build count and newest build. One query: the
 * count is a correlated subquery and the newest build a left join on "the first id in
 * (created_at, id) descending order", the same order `listBuilds` pages in.
 */
export async function listApps(db: Kysely<Database>): Promise<AppSummary[]> {
  const rows = await db
    .selectFrom('apps')
    .leftJoin('builds as latest', (join) =>
      join.on((eb) =>
        eb(
          'latest.id',
          '=',
          eb
            .selectFrom('builds as b')
            .select('b.id')
            .whereRef('b.app_id', '=', 'apps.id')
            .orderBy('b.created_at', 'desc')
            .orderBy('b.id', 'desc')
            .limit(1),
        ),
      ),
    )
    .selectAll('apps')
    .select((eb) => [
      eb.selectFrom('builds as c').select(eb.fn.countAll().as('n')).whereRef('c.app_id', '=', 'apps.id').as('build_count'),
      'latest.id as latest_build_id',
      'latest.version as latest_version',
      'latest.build as latest_build',
    ])
    .orderBy('apps.updated_at', 'desc')
    .orderBy('apps.id', 'desc')
    .execute()
  return rows.map((row) => ({
    ...toAppRecord(row),
    // PostgreSQL returns count(*) as a string (bigint); SQLite as a number.
    buildCount: Number(row.build_count ?? 0),
    latestBuildId: row.latest_build_id,
    latestVersion: row.latest_version,
    latestBuild: row.latest_build,
  }))
}
