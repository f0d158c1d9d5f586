import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough, Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { CreateMultipartUploadCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { isAirstripError } from '../../src/errors.ts'
import { inspectIpa, inspectSource } from '../../src/ipa/inspect.ts'
import { createS3BlobStore } from '../../src/store/s3-blob-store.ts'
import type { S3BlobStore, S3BlobStoreOptions } from '../../src/store/s3-blob-store.ts'
import type { S3Settings } from '../../src/store/s3-client.ts'
import { fixture } from '../support/fixtures.ts'
import { listAllKeys, s3EngineUnavailable, sharedS3Engine } from '../support/s3-engine.ts'
import type { S3Engine } from '../support/s3-engine.ts'

const CHUNK = 1000
const MIB = 1024 * 1024
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

interface Opened {
  blobs: S3BlobStore
  engine: S3Engine
  settings: S3Settings
  /** Every object key in the bucket. */
  keys(): Promise<string[]>
  /** Multipart uploads still open in the bucket. */
  uploads(): Promise<string[]>
}

/** A store over a fresh bucket of the file's Swift engine. */
async function openStore(t: TestContext, options: S3BlobStoreOptions = {}, settingsOverride: Partial<S3Settings> = {}): Promise<Opened> {
  const engine = await sharedS3Engine()
  const settings = await engine.createBucket({ prefix: 'airstrip/', ...settingsOverride })
  const blobs = createS3BlobStore(settings, options)
  t.after(() => blobs.close())
  return {
    blobs,
    engine,
    settings,
    keys: () => listAllKeys(engine.client, settings.bucket),
    async uploads() {
      const listed = await engine.client.send(new ListMultipartUploadsCommand({ Bucket: settings.bucket }))
      return (listed.Uploads ?? []).map((upload) => upload.Key ?? '')
    },
  }
}

/** Delivers `bytes` in awkward piece sizes that never line up with chunk or part boundaries. */
function oddPieces(bytes: Uint8Array, sizes = [7, 1, 333, 999, 2, 1001, 64]): Readable {
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

function chunkHashes(bytes: Uint8Array, chunkSize: number): string[] {
  const hashes: string[] = []
  for (let offset = 0; offset < bytes.length; offset += chunkSize) hashes.push(sha256(bytes.subarray(offset, offset + chunkSize)))
  return hashes
}

async function readAll(blobs: S3BlobStore, key: string, pieceSize: number): Promise<Buffer> {
  const reader = await blobs.openReader(key)
  assert.ok(reader)
  try {
    const pieces: Buffer[] = []
    const into = Buffer.alloc(pieceSize)
    for (let position = 0; ; ) {
      const count = await reader.read(into, position)
      if (count === 0) break
      pieces.push(Buffer.from(into.subarray(0, count)))
      position += count
    }
    return Buffer.concat(pieces)
  } finally {
    await reader.close()
  }
}

describe('createS3BlobStore (OpenStack Swift s3api)', { skip: s3EngineUnavailable() ?? false }, () => {
  it('stages bodies of every awkward size with exact hashes, visible under their hash only after commit', async (t) => {
    const { blobs, keys, uploads } = await openStore(t)
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
      const bytes = randomBytes(size)
      const staged = await blobs.stage(oddPieces(bytes), { maxBytes: 10 * CHUNK, chunkSize: CHUNK })
      assert.deepEqual({ sha256: staged.sha256, size: staged.size, chunkSha256s: staged.chunkSha256s }, { sha256: sha256(bytes), size, chunkSha256s: chunkHashes(bytes, CHUNK) })
      const before = await keys()
      assert.equal(before.length, 1)
      assert.match(before[0] ?? '', /^airstrip\/tmp\/[0-9a-f]{32}$/, 'staged bytes wait under a temp key')
      assert.equal(await blobs.stat(staged.sha256), null, 'not a blob before commit')
      const source = await staged.openSource()
      assert.equal(source.size, size)
      if (size > 0) assert.deepEqual(await source.read(0, size), bytes)

      await staged.commit()
      await staged.discard()
      assert.deepEqual(await keys(), [`airstrip/sha256/${staged.sha256}`])
      assert.equal((await blobs.stat(staged.sha256))?.size, size)
      assert.deepEqual(await readAll(blobs, staged.sha256, 64 * 1024), bytes)
      assert.equal(await blobs.delete(staged.sha256), true)
    }
    assert.deepEqual(await uploads(), [])
  })

  it('streams a multi-part body in constant-size parts, hashing across part boundaries', async (t) => {
    const { blobs, keys, uploads } = await openStore(t, { partSize: 5 * MIB, partConcurrency: 2 })
    const bytes = randomBytes(12 * MIB + 12_345)
    const chunkSize = 3 * MIB + 1
    const staged = await blobs.stage(oddPieces(bytes, [65_537, 1, 300_000]), { maxBytes: 20 * MIB, chunkSize })
    assert.equal(staged.sha256, sha256(bytes))
    assert.deepEqual(staged.chunkSha256s, chunkHashes(bytes, chunkSize))
    await staged.commit()
    assert.deepEqual(await keys(), [`airstrip/sha256/${staged.sha256}`])
    assert.deepEqual(await uploads(), [])
    assert.deepEqual(await readAll(blobs, staged.sha256, 256 * 1024), bytes)
  })

  it('copies a large upload into place in parts when it passes the single-copy limit', async (t) => {
    const { blobs, keys, uploads } = await openStore(t, { partSize: 5 * MIB, singleCopyLimit: 6 * MIB, copyPartSize: 5 * MIB })
    const bytes = randomBytes(11 * MIB)
    const staged = await blobs.stage(oddPieces(bytes, [1 << 20]), { maxBytes: 20 * MIB, chunkSize: 10 * MIB })
    await staged.commit()
    assert.deepEqual(await keys(), [`airstrip/sha256/${staged.sha256}`])
    assert.deepEqual(await uploads(), [])
    assert.equal(sha256(await readAll(blobs, staged.sha256, MIB)), staged.sha256)
  })

  it('accepts exactly maxBytes, refuses one more, and aborts the multipart upload', async (t) => {
    const { blobs, keys, uploads } = await openStore(t, { partSize: 5 * MIB })
    const bytes = randomBytes(11 * MIB)
    const fits = await blobs.stage(oddPieces(bytes, [MIB]), { maxBytes: bytes.length, chunkSize: CHUNK })
    await fits.discard()
    await fits.discard()
    const body = oddPieces(bytes, [MIB])
    await assert.rejects(blobs.stage(body, { maxBytes: bytes.length - 1, chunkSize: CHUNK }), (error) => {
      assert.ok(isAirstripError(error, 'upload-too-large'), String(error))
      assert.deepEqual(error.details, { maxBytes: bytes.length - 1 })
      return true
    })
    assert.ok(body.destroyed)
    assert.deepEqual(await keys(), [])
    assert.deepEqual(await uploads(), [], 'no invisible parts left behind')
  })

  for (const how of ['error', 'premature-close'] as const) {
    it(`turns a body that fails after some parts went up (${how}) into upload-aborted, leaving nothing`, async (t) => {
      const { blobs, keys, uploads } = await openStore(t, { partSize: 5 * MIB })
      const body = new PassThrough()
      body.write(randomBytes(11 * MIB))
      setTimeout(() => (how === 'error' ? body.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })) : body.destroy()), 300)
      await assert.rejects(blobs.stage(body, { maxBytes: 100 * MIB, chunkSize: CHUNK }), (error) => {
        assert.ok(isAirstripError(error, 'upload-aborted'), String(error))
        return true
      })
      assert.deepEqual(await keys(), [])
      assert.deepEqual(await uploads(), [])
    })
  }

  it('turns a real HTTP client that disconnects mid-upload into upload-aborted, leaving nothing', async (t) => {
    const { blobs, keys, uploads } = await openStore(t, { partSize: 5 * MIB })
    const outcome = new Promise<unknown>((resolve) => {
      const server = createServer((req) => void blobs.stage(req, { maxBytes: 100 * MIB, chunkSize: CHUNK }).then(resolve, resolve))
      t.after(() => server.close())
      server.listen(0, '127.0.0.1', () => {
        const client = request({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': String(50 * MIB) } })
        client.on('error', () => {})
        client.write(randomBytes(12 * MIB), () => setTimeout(() => client.destroy(), 200))
      })
    })
    const error = await outcome
    assert.ok(isAirstripError(error, 'upload-aborted'), String(error))
    assert.deepEqual(await keys(), [])
    assert.deepEqual(await uploads(), [])
  })

  it('dedups identical uploads committed concurrently and refuses to commit what was discarded', async (t) => {
    const { blobs, keys } = await openStore(t)
    const bytes = randomBytes(3 * CHUNK + 5)
    const staged = await Promise.all(Array.from({ length: 4 }, () => blobs.stage(oddPieces(bytes), { maxBytes: 10 * CHUNK, chunkSize: CHUNK })))
    assert.equal(new Set(await keys()).size, 4, 'each stage gets its own temp object')
    await Promise.all(staged.map((s) => s.commit()))
    assert.deepEqual(await keys(), [`airstrip/sha256/${sha256(bytes)}`])
    const dropped = await blobs.stage(oddPieces(randomBytes(10)), { maxBytes: 100, chunkSize: CHUNK })
    await dropped.discard()
    await assert.rejects(dropped.commit(), /discarded/)
    await assert.rejects(dropped.openSource(), /discarded/)
    assert.deepEqual(await keys(), [`airstrip/sha256/${sha256(bytes)}`])
  })

  it('inspects a staged .ipa in place through ranged GETs, reading what inspecting the file reads', async (t) => {
    const { blobs } = await openStore(t)
    const path = fixture('ipa', 'appinfo-embedded.ipa')
    const bytes = await readFile(path)
    const staged = await blobs.stage(oddPieces(bytes, [40_000]), { maxBytes: bytes.length, chunkSize: 10 * MIB })
    t.after(() => staged.discard())
    const source = await staged.openSource()
    const now = new Date('2026-11-26T00:00:00Z')
    const fromS3 = await inspectSource(source, { now })
    const fromFile = await inspectIpa(path, { now })
    assert.deepEqual(fromS3.info, fromFile.info)
    assert.deepEqual(fromS3.iconPng, fromFile.iconPng)
    assert.equal(fromS3.info.sha256, staged.sha256, 'the full-file hash through ranged streams matches the upload hash')
  })

  it('stores small bytes by hash, reads at any position, and deletes', async (t) => {
    const { blobs, keys } = await openStore(t)
    const bytes = randomBytes(300_000)
    const key = await blobs.putBytes(bytes)
    assert.equal(key, sha256(bytes))
    assert.equal(await blobs.putBytes(bytes), key)
    const found = await blobs.stat(key)
    assert.equal(found?.size, bytes.length)
    assert.ok(found?.mtime instanceof Date && !Number.isNaN(found.mtime.getTime()))

    const reader = await blobs.openReader(key)
    assert.ok(reader)
    assert.equal(reader.size, bytes.length)
    const into = Buffer.alloc(1000)
    for (const position of [299_500, 10, 1010, 0, 299_999]) {
      const count = await reader.read(into, position)
      assert.equal(count, Math.min(1000, bytes.length - position))
      assert.deepEqual(into.subarray(0, count), bytes.subarray(position, position + count), `at ${position}`)
    }
    assert.equal(await reader.read(into, bytes.length), 0)
    // Reads issued together are served in order over one stream.
    const [a, b] = [Buffer.alloc(4000), Buffer.alloc(4000)]
    await Promise.all([reader.read(a, 5000), reader.read(b, 9000)])
    assert.deepEqual(Buffer.concat([a, b]), bytes.subarray(5000, 13_000))
    await reader.close()
    await assert.rejects(reader.read(into, 0), /closed/)

    const source = await blobs.openSource(key)
    assert.deepEqual(await source?.read(123, 456), bytes.subarray(123, 579))
    assert.deepEqual(await buffer(source!.stream(1000, 2000)), bytes.subarray(1000, 2000))
    const partial = Buffer.alloc(100)
    assert.equal(await source?.readInto(partial, bytes.length - 40), 40)
    await assert.rejects(source!.read(bytes.length - 10, 20), (error) => isAirstripError(error, 'archive-corrupt'))

    assert.equal(await blobs.delete(key), true)
    assert.equal(await blobs.delete(key), false)
    assert.equal(await blobs.stat(key), null)
    assert.equal(await blobs.openReader(key), null)
    assert.equal(await blobs.openSource(key), null)
    assert.deepEqual(await keys(), [])
  })

  it('accepts nothing but 64 lowercase hex digits as a key', async (t) => {
    const { blobs } = await openStore(t)
    const refused = (error: unknown) => isAirstripError(error, 'bad-request')
    for (const key of ['A'.repeat(64), 'a'.repeat(63), `../${'a'.repeat(61)}`, `${'a'.repeat(62)}/a`, '']) {
      await assert.rejects(blobs.stat(key), refused, key)
      await assert.rejects(blobs.delete(key), refused, key)
      await assert.rejects(blobs.openReader(key), refused, key)
      await assert.rejects(blobs.presignDownload(key, { expiresInSeconds: 60, contentType: 'x/y' }), refused, key)
    }
  })

  it('cleans up stale temp objects and dead multipart uploads, keeping live ones and blobs', async (t) => {
    const { blobs, engine, settings, keys, uploads } = await openStore(t)
    const key = await blobs.putBytes(randomBytes(10))
    const put = (Key: string) => engine.client.send(new PutObjectCommand({ Bucket: settings.bucket, Key, Body: 'x' }))
    await put(`airstrip/tmp/${'1'.repeat(32)}`)
    await put('other/tmp/not-ours')
    const dead = await engine.client.send(new CreateMultipartUploadCommand({ Bucket: settings.bucket, Key: `airstrip/tmp/${'2'.repeat(32)}` }))
    await engine.client.send(new UploadPartCommand({ Bucket: settings.bucket, Key: `airstrip/tmp/${'2'.repeat(32)}`, UploadId: dead.UploadId, PartNumber: 1, Body: randomBytes(100) }))
    // Nothing is older than a minute yet: nothing goes.
    assert.equal(await blobs.cleanTemp(60_000), 0)
    assert.equal((await uploads()).length, 1)
    // A cutoff in the future makes everything stale (the clock cannot be moved on the engine).
    assert.equal(await blobs.cleanTemp(-60_000), 2)
    assert.deepEqual((await keys()).sort(), [`airstrip/sha256/${key}`, 'other/tmp/not-ours'])
    assert.deepEqual(await uploads(), [])
  })

  it('presigns downloads the engine serves without credentials, whole or ranged, for the public endpoint', async (t) => {
    const { blobs, engine, settings } = await openStore(t)
    const bytes = randomBytes(100_000)
    const key = await blobs.putBytes(bytes)
    const url = await blobs.presignDownload(key, { expiresInSeconds: 3600, contentType: 'application/octet-stream', fileName: 'My App 1.0.ipa' })
    const parsed = new URL(url)
    assert.equal(parsed.origin, engine.endpoint)
    assert.equal(parsed.searchParams.get('X-Amz-Expires'), '3600')
    const whole = await fetch(url)
    assert.equal(whole.status, 200)
    assert.equal(whole.headers.get('content-type'), 'application/octet-stream')
    assert.match(whole.headers.get('content-disposition') ?? '', /My%20App%201\.0\.ipa/)
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), bytes)
    const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } })
    assert.equal(ranged.status, 206)
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(10, 20))

    // The signature is verified for real: a tampered URL, or one for another key, is refused.
    const tampered = new URL(url)
    tampered.searchParams.set('X-Amz-Expires', '604800')
    assert.equal((await fetch(tampered)).status, 403)
    const otherKey = url.replace(key, sha256(Buffer.from('other')))
    assert.ok([403, 404].includes((await fetch(otherKey)).status))

    // A public endpoint (CDN or public name) is what the URL is signed for.
    const viaPublic = createS3BlobStore({ ...settings, publicEndpoint: engine.endpoint.replace('127.0.0.1', 'localhost') })
    t.after(() => viaPublic.close())
    const publicUrl = await viaPublic.presignDownload(key, { expiresInSeconds: 60, contentType: 'application/octet-stream' })
    assert.equal(new URL(publicUrl).hostname, 'localhost')
    const viaLocalhost = await fetch(publicUrl)
    assert.equal(viaLocalhost.status, 200)
    await viaLocalhost.arrayBuffer()
    assert.equal((await fetch(publicUrl.replace('localhost', '127.0.0.1'))).status, 403, 'the signed Host must match')
  })

  it('fails with the engine refusing a wrong secret (signatures are checked)', async (t) => {
    const { blobs, engine, settings } = await openStore(t)
    const forged = createS3BlobStore({ ...settings, secretAccessKey: 'not-the-secret' })
    t.after(() => forged.close())
    await assert.rejects(forged.putBytes(randomBytes(10)), (error) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403)
    await assert.rejects(forged.stage(oddPieces(randomBytes(10)), { maxBytes: 100, chunkSize: CHUNK }), (error) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403)
    const key = await blobs.putBytes(Buffer.from('kept'))
    const direct = await engine.client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: `airstrip/sha256/${key}` }))
    assert.equal(await direct.Body?.transformToString(), 'kept')
  })
})
