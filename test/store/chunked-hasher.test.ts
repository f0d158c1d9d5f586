// Whole-file and per-chunk SHA-256 in one pass: chunk boundaries exact whatever pieces the bytes come in.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createChunkedHasher } from '../../src/store/chunked-hasher.ts'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

function expected(bytes: Uint8Array, chunkSize: number): { sha256: string; size: number; chunkSha256s: string[] } {
  const chunkSha256s: string[] = []
  for (let offset = 0; offset < bytes.length; offset += chunkSize) chunkSha256s.push(sha256(bytes.subarray(offset, offset + chunkSize)))
  return { sha256: sha256(bytes), size: bytes.length, chunkSha256s }
}

/** `bytes` cut into pieces of the given sizes (cycled). */
function pieces(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = []
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    pieces.push(bytes.subarray(offset, offset + size))
    offset += size
  }
  return pieces
}

describe('createChunkedHasher', () => {
  for (const [size, chunkSize] of [[0, 10], [1, 10], [10, 10], [11, 10], [1000, 7]] as const) {
    it(`${size} bytes in ${chunkSize}-byte chunks`, () => {
      const bytes = randomBytes(size)
      const hasher = createChunkedHasher(chunkSize)
      for (const piece of pieces(bytes, [3, 1, 17])) hasher.update(piece)
      assert.deepEqual(hasher.digest(), expected(bytes, chunkSize))
    })
  }

  it('refuses a chunk size that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => createChunkedHasher(bad), RangeError)
  })

  it('large pieces across odd chunk sizes', () => {
    const cases = [
      { bytes: randomBytes(3 * 1024 * 1024 + 5), chunkSize: 1024 * 1024 + 3, sizes: [65_537, 1, 1024 * 1024] },
      { bytes: randomBytes(100_000), chunkSize: 4096, sizes: [999, 4096, 7] },
    ]
    for (const { bytes, chunkSize, sizes } of cases) {
      const hasher = createChunkedHasher(chunkSize)
      for (const piece of pieces(bytes, sizes)) hasher.update(piece)
      assert.deepEqual(hasher.digest(), expected(bytes, chunkSize))
    }
  })
})
