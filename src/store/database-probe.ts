import { sql, type Kysely } from 'kysely'
import type { Database } from './database.ts'

/**
 * Proves the database can take a write right now, without writing. SQLite: `BEGIN IMMEDIATE`
 * takes the write lock (failing on a read-only file, a full or vanished disk, or a lock held past
 * the busy timeout), then rolls back. PostgreSQL: the session must not be read-only (a standby or
 * `default_transaction_read_only`). For /readyz.
 */
export async function probeDatabaseWritable(db: Kysely<Database>, engine: 'sqlite' | 'postgres'): Promise<void> {
  if (engine === 'postgres') {
    const { rows } = await sql<{ transaction_read_only: string }>`show transaction_read_only`.execute(db)
    if (rows[0]?.transaction_read_only !== 'off') throw new Error('the database session is read-only')
    return
  }
  await db.connection().execute(async (connection) => {
    await sql`begin immediate`.execute(connection)
    await sql`rollback`.execute(connection)
  })
}

/** Counts for /metrics. */
export async function countCatalogue(db: Kysely<Database>): Promise<{ apps: number; builds: number; devices: number }> {
  const [apps, builds, devices] = await Promise.all([
    db.selectFrom('apps').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('builds').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ])
  return { apps: Number(apps.n), builds: Number(builds.n), devices: Number(devices.n) }
}
