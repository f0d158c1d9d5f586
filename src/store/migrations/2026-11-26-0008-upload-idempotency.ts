import type { Kysely, Migration } from 'kysely'

/**
 * Idempotency keys of uploads (`Idempotency-Key` on POST /api/v1/builds): which build a key made,
 * so a retried upload answers with that build instead of storing a second one. The primary key
 * (owner, key) is what makes two concurrent requests with one key race safely on both SQLite and
 * PostgreSQL: exactly one insert wins. Rows expire after 24 h (deleted lazily, see
 * src/store/upload-idempotency.ts); no foreign key to builds, so deleting a build keeps the answer.
 */
export const uploadIdempotency: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('upload_idempotency_keys')
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('idempotency_key', 'text', (c) => c.notNull())
      .addColumn('claim_id', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text')
      .addColumn('build_id', 'text')
      .addColumn('response_status', 'integer')
      .addColumn('response_body', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .addPrimaryKeyConstraint('upload_idempotency_keys_pk', ['owner', 'idempotency_key'])
      .execute()
    await db.schema.createIndex('upload_idempotency_keys_created_at').on('upload_idempotency_keys').column('created_at').execute()
  },
}
