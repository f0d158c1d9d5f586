import { createHash } from 'node:crypto'
import type { Hash } from 'node:crypto'

/** What `createChunkedHasher` produces once all bytes are in. */
export interface ChunkedDigest {
  sha256: string
  size: number
  chunkSha256s: string[]
}

/**
 * Hashes a byte stream twice in one pass: SHA-256 of the whole, and SHA-256 of each `chunkSize`
 * chunk. Chunk boundaries are exact whatever pieces the bytes arrive in, because iOS checks the
 * manifest's `sha256s` against fixed `sha256-size` chunks of the downloaded .ipa.
 */
export function createChunkedHasher(chunkSize: number): { update(bytes: Uint8Array): void; digest(): ChunkedDigest } {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
  const whole = createHash('sha256')
  const chunkSha256s: string[] = []
  let chunk: Hash | null = null
  let chunkFill = 0
  let size = 0
  return {
    update(bytes) {
      whole.update(bytes)
      size += bytes.length
      let offset = 0
      while (offset < bytes.length) {
        chunk ??= createHash('sha256')
        const take = Math.min(chunkSize - chunkFill, bytes.length - offset)
        chunk.update(bytes.subarray(offset, offset + take))
        chunkFill += take
        offset += take
        if (chunkFill === chunkSize) {
          chunkSha256s.push(chunk.digest('hex'))
          chunk = null
          chunkFill = 0
        }
      }
    },
    digest() {
      if (chunk) chunkSha256s.push(chunk.digest('hex'))
      chunk = null
      return { sha256: whole.digest('hex'), size, chunkSha256s }
    },
  }
}
