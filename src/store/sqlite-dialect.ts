import { DatabaseSync } from 'node:sqlite'
import type { StatementSync } from 'node:sqlite'
import { SqliteAdapter, SqliteDialect } from 'kysely'
import type { SqliteDatabase, SqliteStatement } from 'kysely'

/** How long a statement waits for another connection's lock (e.g. a CLI reading the same file) before failing. */
const BUSY_TIMEOUT_MS = 5000

/**
 * Opens `path` with Node's built-in `node:sqlite` and returns a Kysely dialect over it.
 *
 * Why: Kysely ships a dialect for better-sqlite3 only, and we want no native addon. Its
 * `SqliteDialect` accepts anything shaped like Kysely's `SqliteDatabase`, so we adapt
 * `DatabaseSync` to that shape (see `adaptDatabaseSync`). Pragmas are set at open:
 * - `journal_mode=WAL`: readers (a CLI, a backup) never block the server's writer.
 * - `synchronous=FULL`: with WAL, NORMAL may lose the last commits on power loss (the file stays
 *   consistent). An upload answered 201 must survive that; FULL costs one WAL fsync per commit,
 *   which is nothing next to the fsync of the .ipa blob that precedes every build insert.
 * - `foreign_keys=ON`: SQLite leaves them off by default, per connection.
 * - `busy_timeout`: wait for another process's lock instead of failing at once with SQLITE_BUSY.
 *
 * NB! Kysely's SqliteAdapter claims no transactional DDL, so its migrator would leave a failed
 * migration half applied (and the next start would trip over its leftovers). SQLite does roll DDL
 * back, so our dialect says so: pending migrations then run all-or-nothing in one transaction.
 * (Inside a transaction `PRAGMA foreign_keys` is a no-op; table rebuilds use `defer_foreign_keys`.)
 */
export function createSqliteDialect(path: string): SqliteDialect {
  const database = new DatabaseSync(path)
  try {
    database.exec('PRAGMA journal_mode = WAL')
    database.exec('PRAGMA synchronous = FULL')
    database.exec('PRAGMA foreign_keys = ON')
    database.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  } catch (error) {
    database.close()
    throw error
  }
  return new NodeSqliteDialect({ database: adaptDatabaseSync(database) })
}

class NodeSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter()
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

/** Prepared statements kept per connection; the app's queries are a few dozen distinct SQL texts. */
const STATEMENT_CACHE_SIZE = 200

/**
 * Wraps a `DatabaseSync` as Kysely's `SqliteDatabase`: the driver calls `all/run/iterate` with
 * one array of parameters (better-sqlite3 style), node:sqlite takes them spread, and `reader`
 * (does the statement return rows, including `INSERT … RETURNING`) is `columns().length > 0`.
 *
 * Kysely prepares the compiled SQL anew for every query; preparing is most of a small query's
 * cost in SQLite, so statements are kept by SQL text (least recently used dropped beyond
 * STATEMENT_CACHE_SIZE). Reuse is safe: Kysely runs one query at a time per connection, and a
 * statement whose schema changed is re-prepared by SQLite itself.
 */
export function adaptDatabaseSync(database: DatabaseSync): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>()
  return {
    close: () => {
      statements.clear()
      database.close()
    },
    prepare: (sql) => {
      let statement = statements.get(sql)
      // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL among them): Kysely's
      // ROLLBACK would then fail with "no transaction is active" and hide the error that matters.
      if (sql === 'rollback' && !database.isTransaction) return { reader: false, all: () => [], run: () => ({ changes: 0, lastInsertRowid: 0 }), iterate: () => [][Symbol.iterator]() }
      if (statement) {
        statements.delete(sql)
      } else {
        statement = adaptStatement(database.prepare(sql))
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value as string)
      }
      statements.set(sql, statement)
      return statement
    },
  }
}

function adaptStatement(statement: StatementSync): SqliteStatement {
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...(parameters as SqlParameters)),
    run: (parameters) => statement.run(...(parameters as SqlParameters)),
    iterate: (parameters) => statement.iterate(...(parameters as SqlParameters)),
  }
}

/** Kysely types parameters as `unknown`; node:sqlite validates them at run time and throws on bad ones. */
type SqlParameters = Parameters<StatementSync['all']>
