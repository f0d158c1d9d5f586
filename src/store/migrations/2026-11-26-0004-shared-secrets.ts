import type { Kysely, Migration } from 'kysely'

/**
 * Secrets every instance must share when several run on one PostgreSQL (the URL-signing key, the
 * key that seals webhook secrets): kept in the database instead of each instance's data dir, so
 * a link minted by one instance verifies on another. Unused with SQLite (the data dir is shared
 * with the database file anyway).
 */
export const sharedSecrets: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('shared_secrets')
      .addColumn('name', 'text', (c) => c.primaryKey().notNull())
      // base64url of random bytes
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute()
  },
}
