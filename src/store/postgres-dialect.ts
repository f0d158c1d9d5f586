import { PostgresDialect } from 'kysely'
import pg from 'pg'

export { isPostgresUrl } from './database-url.ts'

/** Pool size per Airstrip instance: requests are short; uploads hold a connection only for their final transaction. */
const DEFAULT_POOL_SIZE = 10

/** PostgreSQL type OIDs whose text form we parse ourselves (pg_type.oid). */
const INT8_OID = 20

/**
 * A Kysely dialect over a `pg` connection pool, with the type handling that makes PostgreSQL rows
 * look like SQLite's to the queries in this folder:
 * - `bigint` (sizes, `count(*)`) arrives from pg as a string, because it may exceed 2^53; ours
 *   never do (byte counts), so it is parsed to a number; a value that would lose precision stays
 *   the exact string pg gives (a throw inside a pg type parser would break the connection).
 * - times are `text` ISO 8601 in the schema on both engines, so no date parsing is involved.
 * The parsers are set on this pool only (not pg's global registry), so other pg users in the
 * process are unaffected.
 *
 * @example new Kysely<Database>({ dialect: createPostgresDialect('postgres://airstrip@db/airstrip') })
 */
export function createPostgresDialect(url: string, options: { poolSize?: number } = {}): PostgresDialect {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: 'airstrip',
    types: { getTypeParser: getTypeParser as typeof pg.types.getTypeParser },
  })
  // An idle connection that dies (server restart, failover) is dropped by the pool and replaced on
  // next use; without a listener its 'error' event would crash the process.
  pool.on('error', () => {})
  return new PostgresDialect({ pool })
}

function getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
  if (oid === INT8_OID && format !== 'binary') return parseInt8
  return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format)
}

function parseInt8(text: string): number | string {
  const value = Number(text)
  return Number.isSafeInteger(value) ? value : text
}
