// Whole-file and per-chunk SHA-256, on the main thread and on the shared hash worker.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { createChunkedHasher, createWorkerChunkedHasher } from '../../src/store/chunked-hasher.ts'

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

function expected(bytes: Uint8Array, chunkSize: number): { sha256: string; size: number; chunkSha256s: string[] } {
  const chunkSha256s: string[] = []
  for (let offset = 0; offset < bytes.length; offset += chunkSize) chunkSha256s.push(sha256(bytes.subarray(offset, offset + chunkSize)))
  return { sha256: sha256(bytes), size: bytes.length, chunkSha256s }
}

/** `bytes` copied into shared memory, cut into pieces of the given sizes (cycled). */
function sharedPieces(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length))
  shared.set(bytes)
  const pieces: Uint8Array[] = []
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!
    pieces.push(shared.subarray(offset, offset + size))
    offset += size
  }
  return pieces
}

describe('createChunkedHasher', () => {
  for (const [size, chunkSize] of [[0, 10], [1, 10], [10, 10], [11, 10], [1000, 7]] as const) {
    it(`${size} bytes in ${chunkSize}-byte chunks`, () => {
      const bytes = randomBytes(size)
      const hasher = createChunkedHasher(chunkSize)
      for (const piece of sharedPieces(bytes, [3, 1, 17])) hasher.update(piece)
      assert.deepEqual(hasher.digest(), expected(bytes, chunkSize))
    })
  }

  it('refuses a chunk size that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => createChunkedHasher(bad), RangeError)
  })
})

describe('createWorkerChunkedHasher', () => {
  it('gives the same digests as hashing here, for concurrent sessions with odd pieces and chunk sizes', async () => {
    const cases = [
      { bytes: randomBytes(3 * 1024 * 1024 + 5), chunkSize: 1024 * 1024 + 3, sizes: [65_537, 1, 1024 * 1024] },
      { bytes: randomBytes(100_000), chunkSize: 4096, sizes: [999, 4096, 7] },
      { bytes: randomBytes(1), chunkSize: 10, sizes: [1] },
    ]
    const digests = await Promise.all(
      cases.map(async ({ bytes, chunkSize, sizes }) => {
        const hasher = createWorkerChunkedHasher(chunkSize)
        // Not awaited one by one: updates queue up and are hashed in order.
        await Promise.all(sharedPieces(bytes, sizes).map((piece) => hasher.update(piece)))
        return hasher.digest()
      }),
    )
    digests.forEach((digest, i) => assert.deepEqual(digest, expected(cases[i]!.bytes, cases[i]!.chunkSize)))
  })

  it('reads shared memory only, and refuses use after digest or abort', async () => {
    const hasher = createWorkerChunkedHasher(16)
    await assert.rejects(hasher.update(Buffer.from('not shared')), TypeError)
    const [piece] = sharedPieces(Buffer.from('shared bytes'), [12])
    await hasher.update(piece!)
    assert.deepEqual(await hasher.digest(), expected(Buffer.from('shared bytes'), 16))
    await assert.rejects(hasher.update(piece!), /closed/)
    await assert.rejects(hasher.digest(), /closed/)

    const aborted = createWorkerChunkedHasher(16)
    const pending = aborted.update(piece!)
    aborted.abort()
    aborted.abort()
    // Whether the worker got to it first or not, the session's promises settle; none hangs.
    await Promise.allSettled([pending])
    await assert.rejects(aborted.digest(), /closed/)
  })
})
