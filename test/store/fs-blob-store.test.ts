import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import type { BlobStore } from '../../src/store/blob-store.ts'
import { createFsBlobStore } from '../../src/store/fs-blob-store.ts'

const CHUNK = 1000
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

async function openStore(t: TestContext): Promise<{ blobs: BlobStore; root: string; temps: () => Promise<string[]> }> {
  const root = await mkdtemp(join(tmpdir(), 'airstrip-blobs-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const temps = () => readdir(join(root, 'tmp')).catch(() => [])
  return { blobs: createFsBlobStore(root), root, temps }
}

/** Reads `length` bytes from `position` through `openReader`, in reads of `step` bytes into one reused buffer. */
async function readThrough(blobs: BlobStore, key: string, position = 0, length?: number, step = 4096): Promise<Buffer> {
  const reader = await blobs.openReader(key)
  assert.ok(reader, `blob ${key} opens`)
  try {
    const total = length ?? reader.size - position
    const out = Buffer.alloc(total)
    const buffer = Buffer.alloc(step)
    for (let done = 0; done < total; ) {
      const read = await reader.read(buffer.subarray(0, Math.min(step, total - done)), position + done)
      assert.ok(read > 0, 'no short read before the end')
      buffer.copy(out, done, 0, read)
      done += read
    }
    return out
  } finally {
    await reader.close()
    await reader.close()
  }
}

/** Delivers `bytes` in awkward piece sizes that never line up with chunk boundaries. */
function oddPieces(bytes: Uint8Array): Readable {
  const sizes = [7, 1, 333, 999, 2, 1001, 64]
  return Readable.from(
    (function* () {
      for (let offset = 0, i = 0; offset < bytes.length; i++) {
        const size = sizes[i % sizes.length] ?? 1
        yield Buffer.from(bytes.subarray(offset, offset + size))
        offset += size
      }
    })(),
  )
}

/** A body that sends `head`, then fails the way a dropped client connection does. */
function failingBody(head: Uint8Array, how: 'error' | 'premature-close'): Readable {
  const body = new PassThrough()
  body.write(head)
  setTimeout(() => (how === 'error' ? body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })) : body.destroy()), 20)
  return body
}

describe('createFsBlobStore', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
    it(`stages ${size} bytes with exact whole and chunk hashes, then commits them`, async (t) => {
      const { blobs, root, temps } = await openStore(t)
      const bytes = randomBytes(size)
      const staged = await blobs.stage(oddPieces(bytes), { maxBytes: 10 * CHUNK, chunkSize: CHUNK })
      const expectedChunks: string[] = []
      for (let offset = 0; offset < size; offset += CHUNK) expectedChunks.push(sha256(bytes.subarray(offset, offset + CHUNK)))
      assert.deepEqual({ sha256: staged.sha256, size: staged.size, chunkSha256s: staged.chunkSha256s }, { sha256: sha256(bytes), size, chunkSha256s: expectedChunks })
      assert.deepEqual(await readFile(staged.path), bytes)
      if (process.platform !== 'win32') assert.equal((await stat(staged.path)).mode & 0o777, 0o600)

      await staged.commit()
      await staged.discard()
      const key = staged.sha256
      assert.deepEqual(await readFile(join(root, 'sha256', key.slice(0, 2), key.slice(2, 4), key)), bytes)
      assert.equal((await blobs.stat(key))?.size, size)
      assert.deepEqual(await readThrough(blobs, key, 0, undefined, 333), bytes)
      assert.deepEqual(await temps(), [])
    })
  }

  it('accepts exactly maxBytes and refuses one more, destroying the body and leaving nothing', async (t) => {
    const { blobs, temps } = await openStore(t)
    const bytes = randomBytes(2 * CHUNK + 1)
    const fits = await blobs.stage(oddPieces(bytes), { maxBytes: bytes.length, chunkSize: CHUNK })
    await fits.discard()
    await fits.discard()
    const body = oddPieces(bytes)
    await assert.rejects(blobs.stage(body, { maxBytes: bytes.length - 1, chunkSize: CHUNK }), (error) => {
      assert.ok(isAirstripError(error, 'upload-too-large'))
      assert.deepEqual(error.details, { maxBytes: bytes.length - 1 })
      return true
    })
    assert.ok(body.destroyed)
    assert.deepEqual(await temps(), [])
    assert.equal(await blobs.stat(sha256(bytes)), null)
  })

  for (const how of ['error', 'premature-close'] as const) {
    it(`turns a body that fails mid-way (${how}) into upload-aborted and leaves no temp file`, async (t) => {
      const { blobs, temps } = await openStore(t)
      await assert.rejects(blobs.stage(failingBody(randomBytes(3 * CHUNK), how), { maxBytes: 10 * CHUNK, chunkSize: CHUNK }), (error) => {
        assert.ok(isAirstripError(error, 'upload-aborted'))
        assert.ok(error.cause instanceof Error)
        return true
      })
      assert.deepEqual(await temps(), [])
    })
  }

  it('hashes multi-MiB bodies across write batches and odd chunk sizes', async (t) => {
    const { blobs } = await openStore(t)
    // More than the 4 MiB staging ring, so slots are reused while writes and hashing are in flight.
    const bytes = randomBytes(9 * 1024 * 1024 + 5)
    const chunkSize = 1024 * 1024 + 3
    const body = Readable.from((function* () {
      for (let offset = 0; offset < bytes.length; offset += 65_537) yield Buffer.from(bytes.subarray(offset, offset + 65_537))
    })())
    const staged = await blobs.stage(body, { maxBytes: bytes.length, chunkSize })
    const expected: string[] = []
    for (let offset = 0; offset < bytes.length; offset += chunkSize) expected.push(sha256(bytes.subarray(offset, offset + chunkSize)))
    assert.equal(staged.sha256, sha256(bytes))
    assert.deepEqual(staged.chunkSha256s, expected)
    assert.deepEqual(await readFile(staged.path), bytes)
    await staged.discard()
  })

  it('stops a large upload mid-way (too large, or the body fails) with nothing left behind', async (t) => {
    const { blobs, temps } = await openStore(t)
    const MiB = 1024 * 1024
    const bytes = randomBytes(7 * MiB)
    const pieces = () => Readable.from((function* () {
      for (let offset = 0; offset < bytes.length; offset += 65_536) yield bytes.subarray(offset, offset + 65_536)
    })())
    await assert.rejects(blobs.stage(pieces(), { maxBytes: 6 * MiB + 1, chunkSize: MiB }), (error) => isAirstripError(error, 'upload-too-large'))
    const failing = new PassThrough()
    failing.write(bytes.subarray(0, 5 * MiB + 3))
    setTimeout(() => failing.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 50)
    await assert.rejects(blobs.stage(failing, { maxBytes: 10 * MiB, chunkSize: MiB }), (error) => isAirstripError(error, 'upload-aborted'))
    assert.deepEqual(await temps(), [])
    const fits = await blobs.stage(pieces(), { maxBytes: 7 * MiB, chunkSize: MiB })
    assert.equal(fits.sha256, sha256(bytes))
    await fits.discard()
  })

  it('turns a real HTTP client that disconnects mid-upload into upload-aborted', async (t) => {
    const { blobs, temps } = await openStore(t)
    const outcome = new Promise<unknown>((resolve) => {
      const server = createServer((req) => {
        blobs.stage(req, { maxBytes: 10 * CHUNK * CHUNK, chunkSize: CHUNK }).then(resolve, resolve)
      })
      t.after(() => server.close())
      server.listen(0, '127.0.0.1', () => {
        const client = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': String(CHUNK * CHUNK) } })
        client.on('error', () => {})
        client.write(randomBytes(5 * CHUNK), () => setTimeout(() => client.destroy(), 50))
      })
    })
    const error = await outcome
    assert.ok(isAirstripError(error, 'upload-aborted'), String(error))
    assert.deepEqual(await temps(), [])
  })

  it('dedups identical uploads, also when staged and committed concurrently', async (t) => {
    const { blobs, root, temps } = await openStore(t)
    const bytes = randomBytes(3 * CHUNK + 5)
    const staged = await Promise.all(Array.from({ length: 5 }, () => blobs.stage(oddPieces(bytes), { maxBytes: 10 * CHUNK, chunkSize: CHUNK })))
    assert.equal(new Set(staged.map((s) => s.path)).size, 5, 'each stage gets its own random temp file')
    assert.equal(new Set(staged.map((s) => s.sha256)).size, 1)
    await Promise.all(staged.map((s) => s.commit()))
    await Promise.all(staged.map((s) => s.discard()))
    const again = await blobs.stage(oddPieces(bytes), { maxBytes: 10 * CHUNK, chunkSize: CHUNK })
    await again.commit()
    const key = sha256(bytes)
    assert.deepEqual(await readdir(join(root, 'sha256', key.slice(0, 2), key.slice(2, 4))), [key])
    assert.deepEqual(await readFile(join(root, 'sha256', key.slice(0, 2), key.slice(2, 4), key)), bytes)
    assert.deepEqual(await temps(), [])
  })

  it('discards idempotently and refuses to commit what was discarded', async (t) => {
    const { blobs, temps } = await openStore(t)
    const staged = await blobs.stage(oddPieces(randomBytes(10)), { maxBytes: 100, chunkSize: CHUNK })
    await staged.discard()
    await staged.discard()
    await assert.rejects(staged.commit(), /discarded/)
    assert.equal(await blobs.stat(staged.sha256), null)
    assert.deepEqual(await temps(), [])
  })

  it('stores bytes atomically by hash, serves ranges, and deletes', async (t) => {
    const { blobs, temps } = await openStore(t)
    const bytes = randomBytes(5000)
    const key = await blobs.putBytes(bytes)
    assert.equal(key, sha256(bytes))
    assert.equal(await blobs.putBytes(bytes), key)
    const found = await blobs.stat(key)
    assert.equal(found?.size, 5000)
    assert.ok(found?.mtime instanceof Date)
    assert.deepEqual(await readThrough(blobs, key, 10, 10), bytes.subarray(10, 20))
    assert.deepEqual(await readThrough(blobs, key, 4999, 1), bytes.subarray(4999))
    const reader = (await blobs.openReader(key))!
    assert.equal(reader.size, 5000)
    const tail = Buffer.alloc(100)
    assert.equal(await reader.read(tail, 4950), 50, 'a read across the end returns what is there')
    assert.deepEqual(tail.subarray(0, 50), bytes.subarray(4950))
    assert.equal(await reader.read(tail, 5000), 0)
    assert.equal(await reader.read(tail, 9000), 0)
    await assert.rejects(reader.read(tail, -1), RangeError)
    await reader.close()
    assert.equal(await blobs.delete(key), true)
    assert.equal(await blobs.delete(key), false)
    assert.equal(await blobs.stat(key), null)
    assert.equal(await blobs.openReader(key), null)
    assert.deepEqual(await temps(), [])
  })

  it('accepts nothing but 64 lowercase hex digits as a key', async (t) => {
    const { blobs } = await openStore(t)
    const valid = 'a'.repeat(64)
    const bad = ['A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `../${'a'.repeat(61)}`, `${'a'.repeat(62)}/a`, `${'g'.repeat(64)}`, '', `${'a'.repeat(63)}\n`]
    const refused = (error: unknown) => isAirstripError(error, 'bad-request')
    for (const key of bad) {
      await assert.rejects(blobs.stat(key), refused, key)
      await assert.rejects(blobs.delete(key), refused, key)
      await assert.rejects(blobs.openReader(key), refused, key)
    }
    assert.equal(await blobs.stat(valid), null)
  })

  it('cleans up only stale temp files at start-up', async (t) => {
    const { blobs, root, temps } = await openStore(t)
    await mkdir(join(root, 'tmp'), { recursive: true })
    const stale = `${'1'.repeat(32)}.tmp`
    const fresh = `${'2'.repeat(32)}.tmp`
    const foreign = 'notes.txt'
    for (const name of [stale, fresh, foreign]) await writeFile(join(root, 'tmp', name), 'x')
    const hourAgo = new Date(Date.now() - 3_600_000)
    await utimes(join(root, 'tmp', stale), hourAgo, hourAgo)
    await utimes(join(root, 'tmp', foreign), hourAgo, hourAgo)
    assert.equal(await blobs.cleanTemp(60_000), 1)
    assert.deepEqual((await temps()).sort(), [fresh, foreign].sort())
    assert.equal(await createFsBlobStore(join(root, 'never-used')).cleanTemp(0), 0)
  })
})
