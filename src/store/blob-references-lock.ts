import { sql } from 'kysely'
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'

/** Databases opened on PostgreSQL (by `openDatabase`), where several instances may share the data. */
const POSTGRES = new WeakSet<object>()

/** Notes that `db` is on PostgreSQL. */
export function markPostgres(db: Kysely<Database>): void {
  POSTGRES.add(db)
}

/** A fixed advisory-lock key pair for "blob references" ("AIRS", "BLOB"; PostgreSQL's locks are per database). */
const LOCK_KEY = [0x41495253, 0x424c4f42] as const

/**
 * Runs `work` while no other instance runs its own: "commit a blob + record its build" must not
 * interleave with "forget a build + delete its now unreferenced blob", or a delete on one instance
 * could remove the blob an identical upload on another just found already stored. On PostgreSQL a
 * session advisory lock is held on one pooled connection for the duration (work itself uses other
 * connections; callers queue in-process first, so an instance holds at most one). SQLite serves one
 * instance: `work` runs as is.
 */
export async function withBlobReferencesLock<T>(db: Kysely<Database>, work: () => Promise<T>): Promise<T> {
  if (!POSTGRES.has(db)) return work()
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${LOCK_KEY[0]}, ${LOCK_KEY[1]})`.execute(connection)
    try {
      return await work()
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_KEY[0]}, ${LOCK_KEY[1]})`.execute(connection)
    }
  })
}
