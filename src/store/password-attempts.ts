import { PostgresAdapter, sql } from 'kysely'
import type { Kysely } from 'kysely'
import { createMemoryAttemptLimiter, type AttemptLimiter, type AttemptLimiterOptions } from '../access/attempt-limiter.ts'
import type { Database } from './database.ts'

/** Row shape of `password_attempts` (migration 0009): attempts under one key in one fixed window. */
export interface PasswordAttemptsTable {
  /** `<limiter name>\n<key>`. */
  key: string
  /** ISO 8601 UTC start of the window (a multiple of the window length since the epoch). */
  window_start: string
  attempts: number
}

export interface PasswordAttemptTables {
  password_attempts: PasswordAttemptsTable
}

/**
 * The password-gate limiter for this database: counters in the database on PostgreSQL (instances
 * behind one load balancer share them), in memory on SQLite (one instance).
 */
export function openAttemptLimiter(db: Kysely<Database>, options: AttemptLimiterOptions & { now: () => Date }): AttemptLimiter {
  return db.getExecutor().adapter instanceof PostgresAdapter ? createSqlAttemptLimiter(db, options) : createMemoryAttemptLimiter(options)
}

/**
 * Fixed-window counters in `password_attempts`: an attempt is one upsert (`attempts + 1`,
 * returning the new count), so attempts arriving at once on several instances are all counted and
 * at most `max` go ahead per window. Windows before the current one are deleted on the way.
 */
export function createSqlAttemptLimiter(db: Kysely<Database>, options: AttemptLimiterOptions & { now: () => Date }): AttemptLimiter {
  const rowKey = (key: string): string => `${options.name}\n${key}`
  const currentWindow = (): { start: string; endsAt: number; now: number } => {
    const now = options.now().getTime()
    const start = Math.floor(now / options.windowMs) * options.windowMs
    return { start: new Date(start).toISOString(), endsAt: start + options.windowMs, now }
  }
  return {
    async attempt(key) {
      const window = currentWindow()
      const row = await db
        .insertInto('password_attempts')
        .values({ key: rowKey(key), window_start: window.start, attempts: 1 })
        .onConflict((oc) => oc.columns(['key', 'window_start']).doUpdateSet({ attempts: sql<number>`password_attempts.attempts + 1` }))
        .returning('attempts')
        .executeTakeFirstOrThrow()
      await db.deleteFrom('password_attempts').where('window_start', '<', window.start).execute()
      return Number(row.attempts) <= options.max ? 0 : Math.max(1, Math.ceil((window.endsAt - window.now) / 1000))
    },
    async forgive(key) {
      await db
        .updateTable('password_attempts')
        .set({ attempts: sql<number>`attempts - 1` })
        .where('key', '=', rowKey(key))
        .where('window_start', '=', currentWindow().start)
        .where('attempts', '>', 0)
        .execute()
    },
    async reset(key) {
      await db.deleteFrom('password_attempts').where('key', '=', rowKey(key)).execute()
    },
  }
}
