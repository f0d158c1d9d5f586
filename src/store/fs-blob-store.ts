import { createHash, randomBytes } from 'node:crypto'
import { read } from 'node:fs'
import { mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { AirstripError, isAirstripError } from '../errors.ts'
import { assertBlobKey } from './blob-store.ts'
import type { BlobReader, BlobStat, BlobStore, StageOptions, StagedBlob } from './blob-store.ts'
import type { ChunkedDigest } from './chunked-hasher.ts'
import { fsyncFile, installFile, isErrno } from './durable-files.ts'
import { receiveToFile } from './receive-to-file.ts'
import { asInsufficientStorage, isDiskFull, refuseForFullDisk } from './disk-full.ts'

const TEMP_NAME = /^[0-9a-f]{32}\.tmp$/

/**
 * A BlobStore on the local disk. Layout under `root`:
 * - `sha256/<ab>/<cd>/<sha256>`: blobs, fanned out by the first two bytes so no folder grows huge;
 * - `tmp/<random>.tmp`: uploads being staged (same file system, so commit is an atomic rename).
 *
 * Keys are checked to be 64 lowercase hex before any path is built from them.
 */
export function createFsBlobStore(root: string): BlobStore {
  const base = resolve(root)
  const tempDir = join(base, 'tmp')
  const blobPath = (key: string): string => {
    assertBlobKey(key)
    return join(base, 'sha256', key.slice(0, 2), key.slice(2, 4), key)
  }
  const newTempPath = async (): Promise<string> => {
    await mkdir(tempDir, { recursive: true })
    return join(tempDir, `${randomBytes(16).toString('hex')}.tmp`)
  }

  return {
    async stage(body, options) {
      checkStageOptions(options)
      const path = await newTempPath()
      const digest = await receive(body, path, options)
      let state: 'staged' | 'committed' | 'discarded' = 'staged'
      const staged: StagedBlob = {
        path,
        ...digest,
        async commit() {
          if (state === 'committed') return
          if (state === 'discarded') throw new Error('cannot commit a staged blob that was discarded')
          await fsyncFile(path)
          await installFile(path, blobPath(digest.sha256), digest.size)
          state = 'committed'
        },
        async discard() {
          if (state !== 'staged') return
          state = 'discarded'
          await rm(path, { force: true })
        },
      }
      return staged
    },

    async putBytes(bytes) {
      const key = createHash('sha256').update(bytes).digest('hex')
      const target = blobPath(key)
      const existing = await statOrNull(target)
      if (existing?.size === bytes.length) return key
      const path = await newTempPath()
      try {
        const handle = await open(path, 'wx', 0o600)
        try {
          await handle.writeFile(bytes)
          await handle.sync()
        } finally {
          await handle.close()
        }
        await installFile(path, target, bytes.length)
      } catch (error) {
        await rm(path, { force: true })
        throw error
      }
      return key
    },

    async stat(key) {
      const found = await statOrNull(blobPath(key))
      return found ? { size: found.size, mtime: found.mtime } : null
    },

    async openReader(key) {
      const path = blobPath(key)
      const handle = await open(path, 'r').catch((error: unknown) => {
        if (isErrno(error, 'ENOENT')) return null
        throw error
      })
      if (!handle) return null
      try {
        const found = await handle.stat()
        if (found.isFile()) return fileReader(handle, found.size)
      } catch (error) {
        await handle.close()
        throw error
      }
      await handle.close()
      return null
    },

    async delete(key) {
      try {
        await unlink(blobPath(key))
        return true
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return false
        throw error
      }
    },

    async cleanTemp(olderThanMs) {
      const names = await readdir(tempDir).catch((error: unknown) => {
        if (isErrno(error, 'ENOENT')) return []
        throw error
      })
      const cutoff = Date.now() - olderThanMs
      let removed = 0
      for (const name of names.filter((n) => TEMP_NAME.test(n))) {
        const found = await statOrNull(join(tempDir, name))
        if (found && found.mtimeMs < cutoff) {
          await rm(join(tempDir, name), { force: true })
          removed++
        }
      }
      return removed
    },
  }
}

/**
 * Writes `body` to a new file at `path` (mode 0600, never an existing file), hashing as it goes
 * (`receiveToFile`). On any failure the file is removed; body errors become `upload-aborted`
 * (cause kept), disk errors stay what they are.
 */
async function receive(body: Readable, path: string, options: StageOptions): Promise<ChunkedDigest> {
  try {
    const handle = await open(path, 'wx', 0o600)
    try {
      return await receiveToFile(body, handle, options)
    } finally {
      await handle.close()
    }
  } catch (error) {
    // A full disk: free the space at once and read the rest of the body, so the client gets its 507.
    if (isDiskFull(error) && !body.destroyed) throw await refuseForFullDisk(body, path, options.maxBytes, error)
    if (!body.destroyed) body.destroy()
    await rm(path, { force: true })
    throw isBodyFailure(error, body) ? new AirstripError('upload-aborted', undefined, { cause: error }) : asInsufficientStorage(error)
  }
}

/** True when `error` came from the body (client gone, stream destroyed or truncated), not from us or the disk. */
function isBodyFailure(error: unknown, body: Readable): boolean {
  if (isAirstripError(error)) return false
  if (isErrno(error, 'ERR_STREAM_PREMATURE_CLOSE')) return true
  return body.errored !== null && body.errored === error
}

function checkStageOptions({ maxBytes, chunkSize }: StageOptions): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`)
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
}

/**
 * A BlobReader over an open file. Reads go through callback `fs.read` on the handle's descriptor:
 * measured on the serve benchmark, `FileHandle.read` allocated ~1 KiB of promises and result
 * objects per 64 KiB chunk, a third of a download's garbage.
 */
function fileReader(handle: FileHandle, size: number): BlobReader {
  let closed = false
  return {
    size,
    read(into, position) {
      if (!Number.isSafeInteger(position) || position < 0) return Promise.reject(new RangeError(`invalid read position ${position}`))
      if (closed) return Promise.reject(new Error('blob reader is closed'))
      return new Promise((resolve, reject) => {
        let filled = 0
        const next = (error: Error | null, bytesRead: number): void => {
          if (error) return reject(error)
          filled += bytesRead
          if (bytesRead === 0 || filled === into.byteLength) return resolve(filled)
          read(handle.fd, into, filled, into.byteLength - filled, position + filled, next)
        }
        if (into.byteLength === 0) resolve(0)
        else read(handle.fd, into, 0, into.byteLength, position, next)
      })
    },
    async close() {
      if (closed) return
      closed = true
      await handle.close()
    },
  }
}

async function statOrNull(path: string): Promise<(BlobStat & { mtimeMs: number }) | null> {
  try {
    const found = await stat(path)
    return found.isFile() ? { size: found.size, mtime: found.mtime, mtimeMs: found.mtimeMs } : null
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null
    throw error
  }
}
