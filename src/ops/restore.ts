import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'
import type { BlobStore } from '../store/blob-store.ts'
import { checkDatabaseIntegrity, referencedBlobKeys } from '../store/database-snapshot.ts'
import { fsyncDirectory } from '../store/durable-files.ts'
import { ARCHIVE_ROOT, DATABASE_FILE, MANIFEST_ENTRY, type BackupManifest } from './backup.ts'
import { TarError, readTarEntries, type TarEntry } from './tar-archive.ts'

export interface RestoreOptions {
  file: string
  dataDir: string
  /** Move a non-empty data dir aside (`<dir>.before-restore-<time>`) instead of refusing. */
  force: boolean
  /** The blob store to fill, for a data dir being built at `dataDir` (the server's own kind). */
  blobStoreAt(dataDir: string): BlobStore | Promise<BlobStore>
  now?: () => Date
}

export interface RestoreSummary {
  dataDir: string
  files: number
  blobs: number
  blobBytes: number
  /** Where the previous data dir went, with --force. */
  movedAside: string | null
}

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024
const CHUNK_SIZE = 10 * 1024 * 1024
const SAFE_PATH = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._@+-]+(\/[A-Za-z0-9._@+-]+)*$/
const SHA256 = /^[0-9a-f]{64}$/

/**
 * Restores a backup made by `createBackup` into `dataDir`. Everything is unpacked into a new folder
 * beside it while each file's size and SHA-256 are checked against the manifest (blobs go through
 * the blob store's own staging, which hashes them again), the database is checked by SQLite, and
 * every build's blobs must be present. Only then is the new folder renamed into place; any
 * mismatch leaves the existing data dir untouched. The archive is treated as hostile: names are
 * checked, links refused, and entries the manifest does not list are an error.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreSummary> {
  const dataDir = resolve(options.dataDir)
  await assertReplaceable(dataDir, options.force)
  await mkdir(dirname(dataDir), { recursive: true })
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${randomBytes(6).toString('hex')}`)
  const archive = await open(options.file, 'r').catch((cause: unknown) => {
    throw new AirstripError('file-not-found', `cannot read ${options.file}`, { cause })
  })
  let done = false
  try {
    await mkdir(staging, { mode: 0o700 })
    const archiveSize = (await archive.stat()).size
    const entries = readTarEntries(archive, archiveSize)
    const manifest = await readManifest(archive, await next(entries))
    const wantedFiles = new Map(manifest.files.map((f) => [`${ARCHIVE_ROOT}/data/${f.path}`, f]))
    const wantedBlobs = new Map(manifest.blobs.map((b) => [`${ARCHIVE_ROOT}/blobs/${b.sha256}`, b]))
    const blobs = await options.blobStoreAt(staging)
    for await (const entry of entries) {
      const file = wantedFiles.get(entry.name)
      const blob = wantedBlobs.get(entry.name)
      if (file) {
        wantedFiles.delete(entry.name)
        await extractFile(archive, entry, join(staging, ...file.path.split('/')), file)
      } else if (blob) {
        wantedBlobs.delete(entry.name)
        await extractBlob(archive, entry, blobs, blob)
      } else {
        throw corrupt(`the archive holds ${JSON.stringify(entry.name)}, which its manifest does not list (or lists once only)`)
      }
    }
    const missing = [...wantedFiles.keys(), ...wantedBlobs.keys()]
    if (missing.length > 0) throw corrupt(`the archive lacks ${missing.length} file(s) its manifest lists, e.g. ${missing[0]}`)

    const database = join(staging, DATABASE_FILE)
    const problems = checkDatabaseIntegrity(database)
    if (problems.length > 0) throw corrupt(`the database fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`)
    const restored = new Set(manifest.blobs.map((b) => b.sha256))
    const absent = referencedBlobKeys(database).filter((key) => !restored.has(key))
    if (absent.length > 0) throw corrupt(`${absent.length} build file(s) the database refers to are not in the backup, e.g. ${absent[0]}`)

    await fsyncDirectory(staging)
    const movedAside = await moveAside(dataDir, options.force, options.now?.() ?? new Date())
    await rename(staging, dataDir)
    done = true
    await fsyncDirectory(dirname(dataDir))
    return { dataDir, files: manifest.files.length, blobs: manifest.blobs.length, blobBytes: manifest.blobs.reduce((sum, b) => sum + b.size, 0), movedAside }
  } catch (error) {
    if (error instanceof TarError) throw corrupt(error.message, error)
    throw error
  } finally {
    await archive.close()
    if (!done) await rm(staging, { recursive: true, force: true })
  }
}

async function next(entries: AsyncGenerator<TarEntry>): Promise<TarEntry | undefined> {
  const result = await entries.next()
  return result.done ? undefined : result.value
}

async function readManifest(archive: FileHandle, entry: TarEntry | undefined): Promise<BackupManifest> {
  if (!entry || entry.name !== MANIFEST_ENTRY) throw corrupt('not an Airstrip backup: the archive does not start with its manifest')
  if (entry.size > MAX_MANIFEST_BYTES) throw corrupt('the manifest is implausibly large')
  const bytes = Buffer.alloc(entry.size)
  await archive.read(bytes, 0, entry.size, entry.dataOffset)
  let manifest: BackupManifest
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as BackupManifest
  } catch (cause) {
    throw corrupt('the manifest is not JSON', cause)
  }
  if (manifest?.format !== 'airstrip-backup' || manifest.version !== 1 || !Array.isArray(manifest.files) || !Array.isArray(manifest.blobs)) {
    throw corrupt('the manifest is not an Airstrip backup manifest (format 1)')
  }
  const seen = new Set<string>()
  for (const file of manifest.files) {
    if (typeof file?.path !== 'string' || !SAFE_PATH.test(file.path) || file.path.startsWith('blobs/') || seen.has(file.path)) throw corrupt(`unsafe or repeated file name in the manifest: ${JSON.stringify(file?.path)}`)
    if (!Number.isSafeInteger(file.size) || file.size < 0 || !SHA256.test(String(file.sha256)) || !Number.isInteger(file.mode)) throw corrupt(`bad size, hash or mode for ${file.path}`)
    seen.add(file.path)
  }
  if (!seen.has(DATABASE_FILE)) throw corrupt('the backup has no database')
  for (const blob of manifest.blobs) {
    if (!SHA256.test(String(blob?.sha256)) || !Number.isSafeInteger(blob.size) || blob.size < 0 || seen.has(blob.sha256)) throw corrupt(`bad or repeated blob in the manifest: ${JSON.stringify(blob?.sha256)}`)
    seen.add(blob.sha256)
  }
  return manifest
}

/** Copies an entry to `target` (a new file, mode from the manifest but never wider than 0644), checking size and hash. */
async function extractFile(archive: FileHandle, entry: TarEntry, target: string, expected: BackupManifest['files'][number]): Promise<void> {
  if (entry.size !== expected.size) throw corrupt(`${expected.path}: ${entry.size} bytes in the archive, ${expected.size} in the manifest`)
  await mkdir(dirname(target), { recursive: true, mode: 0o700 })
  const output = await open(target, 'wx', expected.mode & 0o644)
  const hash = createHash('sha256')
  try {
    for await (const chunk of entryChunks(archive, entry)) {
      hash.update(chunk)
      await output.write(chunk)
    }
    await output.sync()
  } finally {
    await output.close()
  }
  if (hash.digest('hex') !== expected.sha256) throw corrupt(`${expected.path}: its SHA-256 does not match the manifest`)
}

/** Stages an entry into the blob store (which hashes it) and commits it only when it is the blob it claims to be. */
async function extractBlob(archive: FileHandle, entry: TarEntry, blobs: BlobStore, expected: BackupManifest['blobs'][number]): Promise<void> {
  if (entry.size !== expected.size) throw corrupt(`blob ${expected.sha256}: ${entry.size} bytes in the archive, ${expected.size} in the manifest`)
  const staged = await blobs.stage(Readable.from(entryChunks(archive, entry, true)), { maxBytes: expected.size, chunkSize: CHUNK_SIZE })
  try {
    if (staged.sha256 !== expected.sha256 || staged.size !== expected.size) throw corrupt(`blob ${expected.sha256}: its content does not match its hash`)
    await staged.commit()
  } finally {
    await staged.discard()
  }
}

/** An entry's bytes in 1 MiB pieces (fresh buffers when `fresh`: the consumer may keep them). */
async function* entryChunks(archive: FileHandle, entry: TarEntry, fresh = false): AsyncGenerator<Buffer> {
  let buffer = Buffer.alloc(Math.min(1024 * 1024, Math.max(1, entry.size)))
  for (let done = 0; done < entry.size; ) {
    if (fresh && done > 0) buffer = Buffer.alloc(buffer.length)
    const { bytesRead } = await archive.read(buffer, 0, Math.min(buffer.length, entry.size - done), entry.dataOffset + done)
    if (bytesRead === 0) throw corrupt(`${entry.name} is cut short`)
    done += bytesRead
    yield buffer.subarray(0, bytesRead)
  }
}

/** Refuses early when the data dir is in use and --force is not given. */
async function assertReplaceable(dataDir: string, force: boolean): Promise<void> {
  const names = await readdir(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return []
    throw error
  })
  if (names.length > 0 && !force) throw new AirstripError('data-dir-not-empty', `${dataDir} is not empty: stop the server, then pass --force to move it aside and restore`)
}

async function moveAside(dataDir: string, force: boolean, now: Date): Promise<string | null> {
  const existing = await stat(dataDir).catch(() => null)
  if (!existing) return null
  const names = await readdir(dataDir)
  if (names.length === 0) {
    await rm(dataDir, { recursive: true })
    return null
  }
  if (!force) throw new AirstripError('data-dir-not-empty')
  const aside = `${dataDir}.before-restore-${now.toISOString().replace(/[:.]/g, '-')}`
  await rename(dataDir, aside)
  return aside
}

function corrupt(message: string, cause?: unknown): AirstripError {
  return new AirstripError('backup-corrupt', message, cause === undefined ? undefined : { cause })
}
