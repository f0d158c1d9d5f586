import type { Kysely, Migration } from 'kysely'

/**
 * Password-gate attempt counters for instances sharing PostgreSQL (src/store/password-attempts.ts):
 * one row per key and fixed time window, so every instance counts the same guesses. Unused with
 * SQLite (one instance counts in memory). Old windows are deleted lazily, by window start.
 */
export const passwordAttempts: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('password_attempts')
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('window_start', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('password_attempts_pk', ['key', 'window_start'])
      .execute()
    await db.schema.createIndex('password_attempts_window_start').on('password_attempts').column('window_start').execute()
  },
}
