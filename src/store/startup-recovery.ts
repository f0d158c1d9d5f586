import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import type { BlobStore } from './blob-store.ts'
import type { Database } from './database.ts'
import { isErrno } from './durable-files.ts'
import type { MetaStore } from './meta-store.ts'
import type { AppRecord, BuildRecord } from './records.ts'
import type { StorageConfig } from './storage-config.ts'

/**
 * What a crash (kill -9, power loss) can leave in a data dir, put right before the server listens:
 * - staged uploads (`blobs/tmp/`) and half-written key, certificate or probe files (`*.tmp`);
 * - blobs without a build: an upload killed between "commit the blob" and "record the build", or a
 *   delete killed between "forget the build" and "delete its blob" — never an acknowledged upload,
 *   as the 201 is sent only after the build is recorded;
 * - builds without their `build.created` event: killed between recording the build and recording
 *   its notifications (two transactions), so webhooks and mails would never go out. They are
 *   announced now, with the app's own setting (a request's `notify=true` is not known any more).
 *
 * Only with the data-dir setup (SQLite + local disk) are temp files and blobs known to be nobody
 * else's at start-up; with PostgreSQL or S3 another instance may be mid-upload, so there only
 * builds older than `SHARED_GRACE_MS` are announced and files are left to the age-based cleaners.
 */
export interface StartupRecovery {
  tempFilesRemoved: number
  orphanBlobsRemoved: number
  /** Builds whose blob is missing: never repaired silently (restore the blob from a backup). */
  buildsMissingBlobs: string[]
  buildsAnnounced: number
}

export interface StartupRecoveryDeps {
  db: Kysely<Database>
  meta: Pick<MetaStore, 'getBuild' | 'getApp'>
  blobs: BlobStore
  dataDir: string
  storage: StorageConfig
  now: () => Date
  /** Records the `build.created` event of a build that lacks one (the notification service). */
  announce(app: AppRecord, build: BuildRecord): Promise<void>
  /** Told what was repaired (warn) and what could not be (error). */
  log: { warn(object: object, message: string): void; error(object: object, message: string): void }
}

/** Builds recorded longer ago than this are not announced by recovery: they predate the outbox or are settled. */
const ANNOUNCE_WINDOW_MS = 24 * 60 * 60 * 1000
/** With a shared database, a younger build may still be being recorded by another instance. */
const SHARED_GRACE_MS = 10 * 60 * 1000

/** Temp names written by Airstrip's atomic writers (src/app.ts, notify/secret-box.ts, tls/atomic-file.ts, ops/startup-checks.ts). */
const DATA_DIR_TEMP = /^(?:[\w.-]+\.key\.\d+\.tmp|\.[\w.-]+\.\d+\.[0-9a-f]{12}\.tmp|\.write-probe-[0-9a-f]+)$/

export async function recoverAtStartup(deps: StartupRecoveryDeps): Promise<StartupRecovery> {
  const shared = deps.storage.databaseUrl !== null || deps.storage.s3 !== null
  const report: StartupRecovery = { tempFilesRemoved: 0, orphanBlobsRemoved: 0, buildsMissingBlobs: [], buildsAnnounced: 0 }
  if (!shared) {
    report.tempFilesRemoved += await deps.blobs.cleanTemp(0)
    report.tempFilesRemoved += await removeTempFiles(deps.dataDir, 0)
    const referenced = await referencedBlobKeys(deps.db)
    for await (const key of localBlobKeys(join(deps.dataDir, 'blobs'))) {
      if (!referenced.has(key) && (await deps.blobs.delete(key))) report.orphanBlobsRemoved++
    }
    for (const build of await deps.db.selectFrom('builds').select(['id', 'sha256', 'size']).execute()) {
      const found = await deps.blobs.stat(build.sha256)
      if (!found || found.size !== Number(build.size)) report.buildsMissingBlobs.push(build.id)
    }
  }
  const now = deps.now().getTime()
  const newest = new Date(now - (shared ? SHARED_GRACE_MS : 0)).toISOString()
  const unannounced = await deps.db
    .selectFrom('builds as b')
    .select('b.id')
    .where('b.created_at', '>=', new Date(now - ANNOUNCE_WINDOW_MS).toISOString())
    .where('b.created_at', '<=', newest)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('notification_events as e').select('e.id').where('e.event_key', '=', sql<string>`${'build.created:'} || b.id`))))
    .orderBy('b.created_at')
    .execute()
  for (const { id } of unannounced) {
    const build = await deps.meta.getBuild(id)
    const app = build && (await deps.meta.getApp(build.appId))
    if (!build || !app) continue
    await deps.announce(app, build)
    report.buildsAnnounced++
  }
  if (report.buildsMissingBlobs.length > 0) deps.log.error({ builds: report.buildsMissingBlobs }, 'builds whose .ipa is missing from the blob store: restore it from a backup')
  if (report.tempFilesRemoved + report.orphanBlobsRemoved + report.buildsAnnounced > 0) deps.log.warn({ ...report, buildsMissingBlobs: undefined }, 'recovered what an interrupted run left behind')
  return report
}

async function referencedBlobKeys(db: Kysely<Database>): Promise<Set<string>> {
  const rows = await db.selectFrom('builds').select(['sha256', 'icon_sha256']).execute()
  return new Set(rows.flatMap((row) => (row.icon_sha256 ? [row.sha256, row.icon_sha256] : [row.sha256])))
}

/** Keys of the blobs under a local blob store's `sha256/<ab>/<cd>/<key>` layout (fs-blob-store.ts). */
async function* localBlobKeys(root: string): AsyncGenerator<string> {
  const list = async (dir: string): Promise<string[]> =>
    readdir(dir).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return []
      throw error
    })
  const base = join(root, 'sha256')
  for (const ab of await list(base)) {
    for (const cd of await list(join(base, ab))) {
      for (const key of await list(join(base, ab, cd))) {
        if (/^[0-9a-f]{64}$/.test(key) && key.startsWith(ab + cd)) yield key
      }
    }
  }
}

/** Removes Airstrip's own temp files from the data dir and its `certs/` tree (not `blobs/`: its store cleans that). */
async function removeTempFiles(dir: string, depth: number): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    if (isErrno(error, 'ENOENT')) return []
    throw error
  })
  let removed = 0
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory() && (depth > 0 || entry.name === 'certs') && depth < 4) removed += await removeTempFiles(path, depth + 1)
    else if (entry.isFile() && DATA_DIR_TEMP.test(entry.name) && !entry.name.includes(`.${process.pid}.`)) {
      await rm(path, { force: true })
      removed++
    }
  }
  return removed
}

