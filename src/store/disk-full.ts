import { rm } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'

/**
 * A full disk is the operator's problem to fix, not a bug: it becomes `insufficient-storage`
 * (507) with a message that says so, instead of a 500. Recognised: ENOSPC and EDQUOT from the file
 * system, SQLITE_FULL (errcode 13, "database or disk is full") from node:sqlite.
 */
export function isDiskFull(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const { code, errcode } = error as NodeJS.ErrnoException & { errcode?: number }
  return code === 'ENOSPC' || code === 'EDQUOT' || (code === 'ERR_SQLITE_ERROR' && errcode === 13)
}

/** `error` as `insufficient-storage` when it is a full disk, else `error` itself (for `catch (e) { throw asInsufficientStorage(e) }`). */
export function asInsufficientStorage(error: unknown): unknown {
  if (!isDiskFull(error)) return error
  return new AirstripError('insufficient-storage', 'the server ran out of disk space while storing this upload; nothing was kept. Free space in the data dir (or enlarge the volume) and upload again.', { cause: error })
}

/**
 * The disk filled while an upload was being staged: removes the partial file at once (other
 * uploads need the space), then reads the rest of the body without storing it, so the client
 * receives the 507 instead of a reset connection. More than `remainingBytes` more → the body is
 * destroyed (it would have been refused as too large anyway). Returns the error to throw.
 */
export async function refuseForFullDisk(body: Readable, partialPath: string, remainingBytes: number, error: unknown): Promise<unknown> {
  await rm(partialPath, { force: true })
  let left = remainingBytes
  try {
    for await (const piece of body as AsyncIterable<Uint8Array | string>) {
      left -= piece.length
      if (left < 0) break
    }
  } catch {
    // The client went away while we drained: nothing more to tell it.
  }
  if (!body.destroyed && left < 0) body.destroy()
  return asInsufficientStorage(error)
}
