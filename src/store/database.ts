import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Kysely, Migrator } from 'kysely'
import type { Migration, MigrationResultSet } from 'kysely'
import { initial } from './migrations/2026-11-26-0001-initial.ts'
import { devices } from './migrations/2026-11-26-0002-devices.ts'
import { notifications } from './migrations/2026-11-26-0003-notifications.ts'
import type { DeviceTables } from './device-tables.ts'
import type { NotificationTables } from './notification-tables.ts'
import { sharedSecrets } from './migrations/2026-11-26-0004-shared-secrets.ts'
import { accounts } from './migrations/2026-11-26-0005-accounts.ts'
import type { AccountTables } from './account-tables.ts'
import { channelsAccess } from './migrations/2026-11-26-0006-channels-access.ts'
import type { AccessTables } from './access-tables.ts'
import { tlsState } from './migrations/2026-11-26-0007-tls-state.ts'
import type { TlsTables } from './tls-tables.ts'
import { uploadIdempotency } from './migrations/2026-11-26-0008-upload-idempotency.ts'
import type { UploadIdempotencyTables } from './upload-idempotency.ts'
import { passwordAttempts } from './migrations/2026-11-26-0009-password-attempts.ts'
import { installEventCounts } from './migrations/2026-11-26-0010-install-event-counts.ts'
import type { PasswordAttemptTables } from './password-attempts.ts'
import { markPostgres } from './blob-references-lock.ts'
import { isPostgresUrl } from './database-url.ts'
import type { SharedSecretTables } from './shared-secrets.ts'
import { createSqliteDialect } from './sqlite-dialect.ts'

/** Row shape of `apps`: one per bundle id. `name`/`updated_at` follow the newest build. */
export interface AppsTable {
  id: string
  bundle_id: string
  name: string
  /** ISO 8601 UTC with milliseconds, so text order is time order. */
  created_at: string
  /** `created_at` of the app's newest build. */
  updated_at: string
}

/** Row shape of `builds`: one per upload. JSON columns are text so SQLite and PostgreSQL store them alike. */
export interface BuildsTable {
  id: string
  app_id: string
  bundle_id: string
  name: string
  version: string | null
  build: string | null
  size: number
  sha256: string
  chunk_size: number
  /** JSON array of hex strings. */
  chunk_sha256s: string
  icon_sha256: string | null
  notes: string | null
  file_name: string | null
  created_at: string
  /** JSON of the `IpaInfo` read at upload. */
  info: string
  /** The channel it was uploaded to ("main" unless told otherwise). */
  channel: string
  /** 1: retention never deletes it. */
  keep: number
}

/** Row shape of `api_tokens`: only the SHA-256 of each token is kept, never the token. */
export interface ApiTokensTable {
  id: string
  name: string
  token_hash: string
  created_at: string
  last_used_at: string | null
  /** 'full' (every API call; what tokens before accounts are) or 'upload' (POST /api/v1/builds only). */
  scope: string
  /** Uploads only for this app (bundle id); null: any app. */
  bundle_id: string | null
  /** The user who made it in the admin UI; null: the CLI. */
  created_by: string | null
}

/** The whole schema as Kysely sees it, after the latest migration. */
export interface Database extends NotificationTables, DeviceTables, SharedSecretTables, AccessTables, AccountTables, TlsTables, UploadIdempotencyTables, PasswordAttemptTables {
  apps: AppsTable
  builds: BuildsTable
  api_tokens: ApiTokensTable
}

/**
 * Every migration, by name. Names sort by date then sequence, which is the order they run in;
 * add new ones at the end and never edit or rename one that has shipped.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026-11-26-0001-initial': initial,
  '2026-11-26-0002-devices': devices,
  '2026-11-26-0003-notifications': notifications,
  '2026-11-26-0004-shared-secrets': sharedSecrets,
  '2026-11-26-0005-accounts': accounts,
  '2026-11-26-0006-channels-access': channelsAccess,
  '2026-11-26-0007-tls-state': tlsState,
  '2026-11-26-0008-upload-idempotency': uploadIdempotency,
  '2026-11-26-0009-password-attempts': passwordAttempts,
  '2026-11-26-0010-install-event-counts': installEventCounts,
}

/**
 * Opens (creating if needed) the SQLite database at `path` — or, for a `postgres://` URL, a
 * pooled PostgreSQL database — and brings its schema up to date. This is the one place that
 * picks the SQL engine.
 *
 * @example const db = await openDatabase(join(dataDir, 'airstrip.db'))
 */
export async function openDatabase(path: string): Promise<Kysely<Database>> {
  const postgres = isPostgresUrl(path)
  if (!postgres && path !== ':memory:') await mkdir(dirname(path), { recursive: true })
  const dialect = postgres ? (await import('./postgres-dialect.ts')).createPostgresDialect(path) : createSqliteDialect(path)
  const db = new Kysely<Database>({ dialect })
  if (postgres) markPostgres(db)
  try {
    await migrateToLatest(db, MIGRATIONS)
  } catch (error) {
    await db.destroy()
    throw error
  }
  return db
}

/**
 * Runs the migrations not yet applied, each in its own transaction. Kysely's migrator never
 * throws; we read its result set and throw one error that names the migration that failed
 * (or says why none could run, e.g. the database was written by a newer Airstrip).
 */
export async function migrateToLatest(db: Kysely<Database>, migrations: Readonly<Record<string, Migration>>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } })
  const resultSet = await migrator.migrateToLatest()
  const failure = describeMigrationFailure(resultSet)
  if (failure) throw new Error(failure, { cause: resultSet.error })
}

/** The message for a failed result set, or null when every migration succeeded. */
export function describeMigrationFailure({ error, results }: MigrationResultSet): string | null {
  if (error === undefined) return null
  const reason = error instanceof Error ? error.message : String(error)
  const failed = results?.find((result) => result.status === 'Error')
  if (failed) return `database migration "${failed.migrationName}" failed: ${reason}`
  return `database migrations could not run: ${reason}`
}
