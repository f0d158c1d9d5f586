import type { FileHandle } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'
import type { StageOptions } from './blob-store.ts'
import { createChunkedHasher } from './chunked-hasher.ts'
import type { ChunkedDigest } from './chunked-hasher.ts'

/** The body is gathered into slots of this size, each hashed and written to disk as a whole. */
const SLOT_SIZE = 1024 * 1024
/** Slots in the ring: how far receiving may run ahead of disk writes (4 MiB in all). */
const SLOT_COUNT = 4

/**
 * Writes `body` into `handle` (an empty file opened for writing) and hashes it: SHA-256 of the
 * whole and of each `chunkSize` chunk. More than `maxBytes` → `upload-too-large` (the loop stops
 * reading, which destroys the body). Any other error is the body's or the disk's, as thrown.
 *
 * Why this shape (measured on the serve benchmark, 1 GiB over HTTPS): pieces arriving from the
 * socket (16 KiB from TLS) are copied into a ring of SLOT_COUNT 1 MiB slots; a full slot is hashed
 * here (both SHA-256 passes, ~1 ms per slot with the CPU's SHA instructions) and goes to a
 * positioned disk write on libuv's threads, and is refilled only once that write is done — which
 * is also the backpressure. Disk writes thus run beside receiving; memory stays at the ring's
 * 4 MiB whatever the upload's size. The hashing used to run on a worker thread: on the benchmark's
 * 2 cores that was no faster (curl takes the other core) and its isolate cost 15–20 MiB of peak
 * RSS, against the < 150 MiB goal. Never returns or throws with a write still in flight, so the
 * caller may close the file at once.
 */
export async function receiveToFile(body: Readable, handle: FileHandle, { maxBytes, chunkSize }: StageOptions): Promise<ChunkedDigest> {
  const ring = Buffer.allocUnsafeSlow(SLOT_SIZE * SLOT_COUNT)
  const slots = Array.from({ length: SLOT_COUNT }, (_, index) => ring.subarray(index * SLOT_SIZE, (index + 1) * SLOT_SIZE))
  const writing: (Promise<void> | null)[] = slots.map(() => null)
  const hasher = createChunkedHasher(chunkSize)
  let size = 0
  let written = 0
  let current = 0
  let fill = 0

  const dispatch = (index: number, length: number): void => {
    const bytes = slots[index]!.subarray(0, length)
    hasher.update(bytes)
    const done = writeFully(handle, bytes, written)
    written += length
    // Awaited when the slot is needed again or at the end; until then a failure must not count as unhandled.
    done.catch(() => {})
    writing[index] = done
  }

  try {
    // Not destroyed on leaving the loop: the caller decides (a full disk drains the body to answer 507).
    for await (const piece of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece
      size += bytes.length
      if (size > maxBytes) throw new AirstripError('upload-too-large', undefined, { details: { maxBytes } })
      for (let offset = 0; offset < bytes.length; ) {
        if (fill === 0 && writing[current]) {
          await writing[current]
          writing[current] = null
        }
        const take = Math.min(SLOT_SIZE - fill, bytes.length - offset)
        slots[current]!.set(bytes.subarray(offset, offset + take), fill)
        fill += take
        offset += take
        if (fill === SLOT_SIZE) {
          dispatch(current, fill)
          current = (current + 1) % SLOT_COUNT
          fill = 0
        }
      }
    }
    if (fill > 0) dispatch(current, fill)
    for (const write of writing) await write
    return hasher.digest()
  } catch (error) {
    await Promise.allSettled(writing)
    throw error
  }
}

/** Writes all of `bytes` at `position` (a positioned write may, rarely, write less than asked). */
async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
    done += bytesWritten
  }
}
