import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import type { BlobReader, BlobStore } from '../store/blob-store.ts'
import { referencedBlobKeys, snapshotDatabase } from '../store/database-snapshot.ts'
import { fsyncDirectory } from '../store/durable-files.ts'
import { AirstripError } from '../errors.ts'
import { TarWriter } from './tar-archive.ts'

/** Folder every entry of a backup archive lives under (so `tar x` makes one folder). */
export const ARCHIVE_ROOT = 'airstrip-backup'
export const MANIFEST_ENTRY = `${ARCHIVE_ROOT}/manifest.json`
export const DATABASE_FILE = 'airstrip.db'

/**
 * What a backup holds, written first in the archive: every data-dir file (the database snapshot,
 * URL-signing and certificate keys, …) and every blob a build refers to, each with its size and
 * SHA-256, so `restore` can check everything before it changes anything.
 */
export interface BackupManifest {
  format: 'airstrip-backup'
  version: 1
  createdAt: string
  /** Files of the data dir, by path relative to it (`airstrip.db`, `url-signing.key`, `certs/…`). */
  files: { path: string; size: number; sha256: string; mode: number }[]
  /** Blobs (content-addressed: the key is the SHA-256). */
  blobs: { sha256: string; size: number }[]
}

export interface BackupSummary {
  file: string
  archiveBytes: number
  files: number
  blobs: number
  blobBytes: number
}

export interface BackupOptions {
  dataDir: string
  /** The archive to write (replaced atomically when it exists). */
  file: string
  blobs: BlobStore
  now?: () => Date
}

/** Left in the data dir by the server but not part of its state. */
const SKIPPED = /^(airstrip\.db(-wal|-shm|-journal)?|\.write-probe-.*|.*\.tmp)$/

/** A blob deleted, or a data file replaced, between the snapshot and its copy: start over. */
class ChangedMeanwhile extends Error {}

/**
 * Writes a consistent backup of a data dir while the server keeps running: a snapshot of the
 * database (`VACUUM INTO`), the blobs its builds refer to (immutable and content-addressed, so any
 * moment's copy is right; one deleted meanwhile restarts the backup from a new snapshot), the other
 * files of the data dir, and a manifest of sizes and hashes. One tar file, written to a temp name,
 * fsynced, then renamed over `file` — a crash never leaves a half archive under that name. Mode
 * 0600: it holds the keys.
 */
export async function createBackup(options: BackupOptions): Promise<BackupSummary> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeBackup(options)
    } catch (error) {
      if (!(error instanceof ChangedMeanwhile) || attempt >= 3) throw error
    }
  }
}

async function writeBackup({ dataDir, file, blobs, now = () => new Date() }: BackupOptions): Promise<BackupSummary> {
  // Opening a missing database would create an empty one: a mistyped --data-dir must not "succeed".
  if (!(await stat(join(dataDir, DATABASE_FILE)).then((s) => s.isFile(), () => false))) {
    throw new AirstripError('file-not-found', `no Airstrip database in ${dataDir} (check --data-dir)`)
  }
  const target = resolve(file)
  const scratch = join(dirname(target), `.airstrip-backup-${randomBytes(6).toString('hex')}`)
  const temp = `${scratch}.tmp`
  const snapshot = `${scratch}.db`
  const handle = await open(temp, 'wx', 0o600)
  let renamed = false
  try {
    snapshotDatabase(join(dataDir, DATABASE_FILE), snapshot)
    const keys = referencedBlobKeys(snapshot)
    const blobList: BackupManifest['blobs'] = []
    for (const key of keys) {
      const found = await blobs.stat(key)
      if (!found) throw new ChangedMeanwhile(key)
      blobList.push({ sha256: key, size: found.size })
    }
    const files = [{ path: DATABASE_FILE, source: snapshot }, ...(await dataFiles(dataDir, [target, scratch]))]
    const described: BackupManifest['files'] = []
    for (const entry of files) described.push({ path: entry.path, ...(await describeFile(entry.source)) })
    const manifest: BackupManifest = { format: 'airstrip-backup', version: 1, createdAt: now().toISOString(), files: described, blobs: blobList }

    const tar = new TarWriter(handle)
    const mtime = now()
    await tar.addBuffer(MANIFEST_ENTRY, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o600, mtime)
    for (const [index, entry] of files.entries()) {
      const expected = described[index]!
      await copyInto(tar, `${ARCHIVE_ROOT}/data/${entry.path}`, expected, mtime, () => createReadStream(entry.source), true)
    }
    for (const blob of blobList) {
      const reader = await blobs.openReader(blob.sha256)
      if (!reader) throw new ChangedMeanwhile(blob.sha256)
      try {
        await copyInto(tar, `${ARCHIVE_ROOT}/blobs/${blob.sha256}`, { ...blob, mode: 0o600 }, mtime, () => readerChunks(reader), false)
      } finally {
        await reader.close()
      }
    }
    await tar.finish()
    await handle.sync()
    await handle.close()
    await rename(temp, target)
    renamed = true
    await fsyncDirectory(dirname(target))
    return { file: target, archiveBytes: tar.bytes, files: described.length, blobs: blobList.length, blobBytes: blobList.reduce((sum, b) => sum + b.size, 0) }
  } finally {
    await handle.close().catch(() => undefined)
    if (!renamed) await rm(temp, { force: true })
    await rm(snapshot, { force: true })
  }
}

/** Streams one file into the archive, checking it is still the size and hash the manifest says. */
async function copyInto(tar: TarWriter, name: string, expected: { size: number; sha256: string; mode: number }, mtime: Date, openStream: () => AsyncIterable<Uint8Array>, mayChange: boolean): Promise<void> {
  await tar.beginEntry(name, expected.size, expected.mode, mtime)
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of openStream()) {
      const bytes = chunk
      size += bytes.length
      if (size > expected.size) break
      hash.update(bytes)
      await tar.writeData(bytes)
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ChangedMeanwhile(name)
    throw error
  }
  if (size !== expected.size || hash.digest('hex') !== expected.sha256) {
    // Data files are replaced by atomic renames (a new one is fine: take it next round); blobs never change.
    if (mayChange) throw new ChangedMeanwhile(name)
    throw new Error(`${name} changed or is damaged on disk (expected ${expected.size} bytes with SHA-256 ${expected.sha256}); nothing was written to the backup file`)
  }
  await tar.endEntry(size)
}

/** A blob's bytes through its reader, in 1 MiB pieces of one reused buffer (each written before the next read). */
async function* readerChunks(reader: BlobReader): AsyncGenerator<Uint8Array> {
  const buffer = Buffer.alloc(1024 * 1024)
  let position = 0
  try {
    while (true) {
      const read = await reader.read(buffer, position)
      if (read === 0) return
      position += read
      yield buffer.subarray(0, read)
    }
  } finally {
    await reader.close()
  }
}

async function describeFile(path: string): Promise<{ size: number; sha256: string; mode: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest('hex'), mode: (await stat(path)).mode & 0o777 }
}

/** Every regular file of the data dir but the blobs, the live database and leftovers, by relative path. */
async function dataFiles(dataDir: string, exclude: string[]): Promise<{ path: string; source: string }[]> {
  const found: { path: string; source: string }[] = []
  const entries = await readdir(dataDir, { recursive: true, withFileTypes: true })
  for (const entry of entries) {
    const source = join(entry.parentPath, entry.name)
    const path = relative(dataDir, source).split(sep).join('/')
    if (!entry.isFile() || path === 'blobs' || path.startsWith('blobs/') || SKIPPED.test(basename(path))) continue
    if (exclude.some((excluded) => source === excluded || source.startsWith(`${excluded}.`))) continue
    found.push({ path, source })
  }
  return found.sort((a, b) => a.path.localeCompare(b.path))
}
