import { DatabaseSync } from 'node:sqlite'

/** How long the snapshot waits for the server's write lock before giving up. */
const BUSY_TIMEOUT_MS = 30_000

/**
 * A consistent copy of the live database at `targetPath`, taken while the server runs: `VACUUM
 * INTO` reads inside one transaction, so the copy is the database as of one instant (WAL mode: the
 * server's writes go on meanwhile). The copy is compact and self-contained (no -wal file).
 */
export function snapshotDatabase(databasePath: string, targetPath: string): void {
  const database = new DatabaseSync(databasePath)
  try {
    database.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    database.prepare('VACUUM INTO ?').run(targetPath)
  } finally {
    database.close()
  }
}

/** The blob keys a database refers to (every build's .ipa and icon): what a backup must carry. */
export function referencedBlobKeys(databasePath: string): string[] {
  const database = new DatabaseSync(databasePath, { readOnly: true })
  try {
    const rows = database.prepare('SELECT sha256 AS key FROM builds UNION SELECT icon_sha256 FROM builds WHERE icon_sha256 IS NOT NULL').all() as { key: string }[]
    return rows.map((row) => row.key).sort()
  } finally {
    database.close()
  }
}

/** SQLite's own consistency check of a database file; the problems it lists, or [] when sound. */
export function checkDatabaseIntegrity(databasePath: string): string[] {
  const database = new DatabaseSync(databasePath, { readOnly: true })
  try {
    const rows = database.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[]
    const problems = rows.map((row) => row.integrity_check).filter((line) => line !== 'ok')
    return problems
  } finally {
    database.close()
  }
}
