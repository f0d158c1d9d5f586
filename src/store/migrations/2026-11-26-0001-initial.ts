import type { Kysely, Migration } from 'kysely'

/**
 * The first schema: apps (one per bundle id), builds (one per upload) and API tokens (hashes only).
 *
 * Portable on purpose: `bigint` sizes (an .ipa may pass 2 GiB; PostgreSQL's `integer` is 32-bit,
 * SQLite reads any *INT* type as 64-bit), and NOT NULL on text primary keys (SQLite otherwise
 * allows NULL there, a legacy quirk).
 *
 * Migrations take `Kysely<any>` on purpose (Kysely's advice): they must keep compiling against the
 * schema as it was when they were written, not against today's `Database` type.
 */
export const initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('apps')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('bundle_id', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('builds')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version', 'text')
      .addColumn('build', 'text')
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('chunk_size', 'bigint', (c) => c.notNull())
      .addColumn('chunk_sha256s', 'text', (c) => c.notNull())
      .addColumn('icon_sha256', 'text')
      .addColumn('notes', 'text')
      .addColumn('file_name', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('info', 'text', (c) => c.notNull())
      .execute()
    // Keyset pagination (newest first) per app and overall; `id` breaks ties between equal times.
    await db.schema.createIndex('builds_app_id_created_at').on('builds').columns(['app_id', 'created_at', 'id']).execute()
    await db.schema.createIndex('builds_created_at').on('builds').columns(['created_at', 'id']).execute()
    // "Is this blob still referenced?" after a delete.
    await db.schema.createIndex('builds_sha256').on('builds').column('sha256').execute()
    await db.schema.createIndex('builds_icon_sha256').on('builds').column('icon_sha256').execute()

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .execute()
  },
}
