import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { sql } from 'kysely'
import type { Kysely } from 'kysely'
import { AirstripError } from '../errors.ts'
import type { BlobReader, BlobStore } from './blob-store.ts'
import { openDatabase } from './database.ts'
import type { Database } from './database.ts'
import { createFsBlobStore } from './fs-blob-store.ts'
import { readDataDirTlsState, writeTlsStateToDatabase, type TlsMigrationReport } from './migrate-tls.ts'
import type { SharedSecretName } from './shared-secrets.ts'
import type { StorageConfig } from './storage-config.ts'

/** What `migrateStore` did, for the CLI to print. */
export interface StoreMigrationReport {
  tables: Array<{ name: string; rows: number }>
  /** Keys carried from the data dir into the database (so old links and webhook secrets keep working). */
  secrets: SharedSecretName[]
  /** The dev CA and server certificate, ACME accounts and certificates carried from `<data dir>/certs/` (migrate-tls.ts). */
  tls: TlsMigrationReport
  blobs: { copied: number; alreadyThere: number; bytes: number }
}

/** Key files of the data dir and the shared secrets they become. */
const SECRET_FILES: ReadonlyArray<[file: string, name: SharedSecretName]> = [
  ['url-signing.key', 'url-signing'],
  ['notify-secrets.key', 'notify-secret-box'],
]

/** Tables that belong to the migrator or are filled from the data dir, not copied. */
const NOT_COPIED = new Set(['kysely_migration', 'kysely_migration_lock', 'shared_secrets'])

const HASH_CHUNK = 10 * 1024 * 1024

/**
 * Moves an installation from SQLite + the data dir to the shared stores in `to`: every table of
 * `<dataDir>/airstrip.db` into an empty PostgreSQL database (one transaction, row counts checked,
 * the data dir's keys carried over), and every blob a build references into the S3 bucket, each
 * one re-hashed on the way (a damaged file stops the migration; nothing half-copied becomes
 * visible). Blobs already in the bucket are re-read and verified, so an interrupted run can
 * simply be repeated. Either half can run alone (only `databaseUrl`, or only `s3`). The TLS state
 * of `<dataDir>/certs/` (the dev CA testers' devices trust, ACME account and certificates) goes into
 * the database in the same transaction as the tables, each item read back and compared.
 */
export async function migrateStore(dataDir: string, to: StorageConfig, log: (line: string) => void = () => {}): Promise<StoreMigrationReport> {
  if (!to.databaseUrl && !to.s3) throw new AirstripError('bad-request', 'nothing to migrate to: give --database-url and/or --s3-bucket (with its S3 settings)')
  const sourcePath = join(dataDir, 'airstrip.db')
  if (!existsSync(sourcePath)) throw new AirstripError('file-not-found', `no database at ${sourcePath}: point --data-dir at the installation to migrate`)
  const source = await openDatabase(sourcePath)
  const report: StoreMigrationReport = { tables: [], secrets: [], tls: { devCertificates: [], acme: [], skipped: [] }, blobs: { copied: 0, alreadyThere: 0, bytes: 0 } }
  try {
    if (to.databaseUrl) {
      // Read first: an unreadable certs/ stops the migration before anything is written.
      const tls = await readDataDirTlsState(dataDir)
      const target = await openDatabase(to.databaseUrl)
      try {
        report.tables = await copyTables(source, target, log, async (trx) => {
          report.tls = await writeTlsStateToDatabase(trx, tls)
        })
        report.secrets = await copySecrets(dataDir, target)
      } finally {
        await target.destroy()
      }
    }
    if (to.s3) {
      const { createS3BlobStore } = await import('./s3-blob-store.ts')
      const target = createS3BlobStore(to.s3)
      try {
        report.blobs = await copyBlobs(source, createFsBlobStore(join(dataDir, 'blobs')), target, log)
      } finally {
        target.close()
      }
    }
  } finally {
    await source.destroy()
  }
  return report
}

/** Copies every table in one transaction; `alsoInTransaction` runs in it last (it fails, nothing is kept). */
async function copyTables(
  source: Kysely<Database>,
  target: Kysely<Database>,
  log: (line: string) => void,
  alsoInTransaction: (trx: Kysely<Database>) => Promise<void>,
): Promise<Array<{ name: string; rows: number }>> {
  const tables = await tablesInDependencyOrder(source)
  const counted: Array<{ name: string; rows: number }> = []
  // Kysely's typed builders only know tables by name at compile time; these come from the schema.
  const loose = target as unknown as Kysely<Record<string, Record<string, unknown>>>
  await loose.transaction().execute(async (trx) => {
    for (const name of tables) {
      const existing = await trx.selectFrom(name).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
      if (Number(existing['n']) > 0) throw new AirstripError('bad-request', `the target database is not empty (${name} has ${existing['n']} rows): migrate into a new, empty database`)
    }
    for (const name of tables) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(source)
      for (let offset = 0; offset < rows.rows.length; offset += 200) await trx.insertInto(name).values(rows.rows.slice(offset, offset + 200)).execute()
      const copied = await trx.selectFrom(name).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
      if (Number(copied['n']) !== rows.rows.length) throw new Error(`${name}: copied ${copied['n']} rows of ${rows.rows.length}`)
      counted.push({ name, rows: rows.rows.length })
      log(`table ${name}: ${rows.rows.length} rows`)
    }
    await alsoInTransaction(trx as unknown as Kysely<Database>)
  })
  return counted
}

/** SQLite's user tables, parents before children (by their foreign keys), so inserts never dangle. */
async function tablesInDependencyOrder(db: Kysely<Database>): Promise<string[]> {
  const listed = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db)
  const names = listed.rows.map((row) => row.name).filter((name) => !NOT_COPIED.has(name))
  const parents = new Map<string, string[]>()
  for (const name of names) {
    const keys = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${name})`.execute(db)
    parents.set(name, keys.rows.map((key) => key.table).filter((parent) => parent !== name))
  }
  const ordered: string[] = []
  const visit = (name: string, path: string[]): void => {
    if (ordered.includes(name)) return
    if (path.includes(name)) throw new Error(`foreign keys form a cycle: ${[...path, name].join(' → ')}`)
    for (const parent of parents.get(name) ?? []) visit(parent, [...path, name])
    ordered.push(name)
  }
  for (const name of names) visit(name, [])
  return ordered
}

async function copySecrets(dataDir: string, target: Kysely<Database>): Promise<SharedSecretName[]> {
  const copied: SharedSecretName[] = []
  for (const [file, name] of SECRET_FILES) {
    const text = await readFile(join(dataDir, file), 'utf8').catch(() => null)
    if (text === null) continue
    const key = Buffer.from(text.trim(), 'base64url')
    if (key.length !== 32) throw new AirstripError('bad-request', `${file} in the data dir does not hold a 32-byte key`)
    await target.insertInto('shared_secrets').values({ name, value: key.toString('base64url'), created_at: new Date().toISOString() }).onConflict((oc) => oc.column('name').doUpdateSet({ value: key.toString('base64url') })).execute()
    copied.push(name)
  }
  return copied
}

async function copyBlobs(source: Kysely<Database>, from: BlobStore, to: BlobStore, log: (line: string) => void): Promise<StoreMigrationReport['blobs']> {
  const builds = await source.selectFrom('builds').select(['sha256', 'icon_sha256']).execute()
  const keys = [...new Set(builds.flatMap((build) => [build.sha256, build.icon_sha256]).filter((key): key is string => key !== null))].sort()
  const result = { copied: 0, alreadyThere: 0, bytes: 0 }
  for (const key of keys) {
    const reader = await from.openReader(key)
    if (!reader) throw new AirstripError('file-not-found', `blob ${key} is referenced by a build but missing from the data dir`)
    try {
      const present = await to.openReader(key)
      if (present) {
        // Already copied (an earlier, interrupted run): verify it rather than trust it.
        const digest = await hashReader(present).finally(() => present.close())
        if (digest !== key || present.size !== reader.size) throw new Error(`blob ${key} in the bucket is damaged (its bytes hash to ${digest}); delete it and run again`)
        result.alreadyThere++
        continue
      }
      const staged = await to.stage(readerStream(reader), { maxBytes: reader.size, chunkSize: HASH_CHUNK })
      try {
        if (staged.sha256 !== key) throw new Error(`blob ${key} in the data dir is damaged: its bytes hash to ${staged.sha256}`)
        await staged.commit()
      } finally {
        await staged.discard()
      }
      result.copied++
      result.bytes += reader.size
      log(`blob ${key}: ${reader.size} bytes copied and verified`)
    } finally {
      await reader.close()
    }
  }
  return result
}

/** A blob reader as a stream of 1 MiB chunks. */
function readerStream(reader: BlobReader): Readable {
  return Readable.from(
    (async function* () {
      for (let position = 0; position < reader.size; ) {
        const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, reader.size - position))
        const count = await reader.read(chunk, position)
        if (count === 0) throw new Error(`blob ended at byte ${position} of ${reader.size}`)
        position += count
        yield chunk.subarray(0, count)
      }
    })(),
    { objectMode: false },
  )
}

async function hashReader(reader: BlobReader): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of readerStream(reader)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
