import type { Kysely, Migration } from 'kysely'

/**
 * Channels (builds go to one, default "main"), who may install (per app and per channel), install
 * analytics and retention settings.
 *
 * Existing builds join "main" through the column default, and each app gets its "main" channel row.
 * Grants reference testers with ON DELETE CASCADE: deleting a tester deletes their personal links,
 * and every link minted under them stops at the next request. Analytics rows keep no foreign keys
 * so the history outlives builds and testers.
 */
export const channelsAccess: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('builds').addColumn('channel', 'text', (c) => c.notNull().defaultTo('main')).execute()
    await db.schema.alterTable('builds').addColumn('keep', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    // A channel's builds newest first (pages, retention).
    await db.schema.createIndex('builds_bundle_id_channel_created_at').on('builds').columns(['bundle_id', 'channel', 'created_at', 'id']).execute()

    await db.schema
      .createTable('channels')
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('access', 'text', (c) => c.notNull())
      .addColumn('retention_keep_last', 'integer')
      .addColumn('retention_max_age_days', 'integer')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('channels_pk', ['bundle_id', 'name'])
      .execute()
    const now = new Date().toISOString()
    await db
      .insertInto('channels')
      .columns(['bundle_id', 'name', 'access', 'created_at', 'updated_at'])
      .expression(
        db
          .selectFrom('builds')
          .select((eb) => ['bundle_id', eb.val('main').as('name'), eb.val('inherit').as('access'), eb.fn.min('created_at').as('created_at'), eb.val(now).as('updated_at')])
          .groupBy('bundle_id'),
      )
      .execute()

    await db.schema
      .createTable('app_access')
      .addColumn('bundle_id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('access', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('access_grants')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('channel', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('tester_id', 'text', (c) => c.references('testers.id').onDelete('cascade'))
      .addColumn('secret_hash', 'text', (c) => c.unique())
      .addColumn('password_hash', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute()
    await db.schema.createIndex('access_grants_bundle_id_kind').on('access_grants').columns(['bundle_id', 'kind']).execute()
    await db.schema.createIndex('access_grants_tester_id').on('access_grants').column('tester_id').execute()

    await db.schema
      .createTable('install_events')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('build_id', 'text', (c) => c.notNull())
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('tester_id', 'text')
      .addColumn('grant_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('install_events_build_id').on('install_events').columns(['build_id', 'kind']).execute()
    await db.schema.createIndex('install_events_bundle_id').on('install_events').columns(['bundle_id', 'created_at']).execute()

    await db.schema
      .createTable('download_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('build_id', 'text', (c) => c.notNull())
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('tester_id', 'text')
      .addColumn('grant_id', 'text')
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('covered', 'text', (c) => c.notNull())
      .addColumn('bytes_sent', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .execute()
    await db.schema.createIndex('download_sessions_build_id').on('download_sessions').column('build_id').execute()
  },
}
