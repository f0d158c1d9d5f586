import type { Kysely } from 'kysely'
import { loadConfig, type Config, type RawSettings } from '../config.ts'
import type { Database } from '../store/database.ts'

/**
 * Opens the configured database (SQLite file or PostgreSQL; SQLite's WAL lets this run beside a
 * live server) for one command, and closes it when `work` ends. The store modules are loaded on
 * demand: `airstrip inspect` does not pay for them.
 */
export async function withDatabase<T>(
  flags: RawSettings,
  env: Record<string, string | undefined>,
  work: (db: Kysely<Database>, config: Readonly<Config>) => Promise<T>,
): Promise<T> {
  const config = loadConfig(flags, env)
  const { openDatabase } = await import('../store/database.ts')
  const { databaseLocation } = await import('../store/open-stores.ts')
  const db = await openDatabase(databaseLocation(config.storage, config.dataDir))
  try {
    return await work(db, config)
  } finally {
    await db.destroy()
  }
}
