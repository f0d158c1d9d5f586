import { createHash, randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { Transform } from 'node:stream'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { AirstripError, isAirstripError } from '../errors.ts'
import type { RandomAccessSource } from '../ipa/source.ts'
import { assertBlobKey } from './blob-store.ts'
import type { BlobStore, StageOptions, StagedBlob } from './blob-store.ts'
import { createChunkedHasher } from './chunked-hasher.ts'
import { createS3Client } from './s3-client.ts'
import type { S3Settings } from './s3-client.ts'
import { copyObject, removeStaleStaging } from './s3-maintenance.ts'
import { openObjectSource, openSequentialReader } from './s3-object-reads.ts'

/** S3's limits: parts of 5 MiB to 5 GiB, at most 10,000 of them; one CopyObject up to 5 GiB. */
const MIN_PART_SIZE = 5 * 1024 ** 2
const MAX_PARTS = 10_000
const MAX_SINGLE_COPY = 5 * 1024 ** 3

/** A staged upload in S3 is inspected where it lies: through ranged GETs, never a local file. */
export interface S3StagedBlob extends StagedBlob {
  openSource(): Promise<RandomAccessSource>
}

/** What the S3 store offers beyond `BlobStore`. */
export interface S3BlobStore extends BlobStore {
  stage(body: Readable, options: StageOptions): Promise<S3StagedBlob>
  /** Random access to a stored blob (ranged GETs); null when there is none. */
  openSource(sha256: string): Promise<RandomAccessSource | null>
  /**
   * A presigned GET URL for a blob, valid `expiresInSeconds` (≤ 7 days), for the object store's
   * public endpoint: devices download from S3 (or the CDN before it) and never through Airstrip.
   */
  presignDownload(sha256: string, options: { expiresInSeconds: number; contentType: string; fileName?: string }): Promise<string>
  /**
   * For /readyz: puts, heads and deletes a tiny object under the staging prefix (what an upload is
   * about to do; a leftover is removed by `cleanTemp`). Throws, naming the bucket, when it cannot.
   */
  probeWritable(signal?: AbortSignal): Promise<void>
  /** Closes the HTTP connections. */
  close(): void
}

/** Tuning for tests and benchmarks. */
export interface S3BlobStoreOptions {
  /** Bytes per multipart part (≥ 5 MiB; raised when needed to stay within 10,000 parts). Default 8 MiB. */
  partSize?: number
  /** Parts in flight at once per upload; memory per upload is about (this + 1) × partSize. Default 3. */
  partConcurrency?: number
  /** Largest object copied with one CopyObject at commit; bigger ones are copied in parts. Default 5 GiB. */
  singleCopyLimit?: number
  /** Part size of such multipart copies. Default 512 MiB. */
  copyPartSize?: number
}

/**
 * A BlobStore in an S3-compatible bucket. Keys under `settings.prefix`:
 * - `sha256/<sha256>`: blobs. Only complete, hashed content ever appears here.
 * - `tmp/<random>`: uploads being staged. The body streams into a multipart upload there while
 *   it is hashed (constant memory whatever its size), is inspected in place through ranged GETs,
 *   then `commit` copies it server-side to its content-addressed key and deletes the temp object.
 *   (S3 cannot rename, and the key is the hash, known only at the end: the copy is the price of
 *   never exposing a half-written or unverified blob. Docker's registry does the same.)
 * A body that fails aborts the multipart upload; leftovers of crashed instances are aborted and
 * deleted by `cleanTemp`. Every instance may share the bucket: blobs are immutable and
 * content-addressed, so concurrent identical commits are harmless.
 */
export function createS3BlobStore(settings: S3Settings, options: S3BlobStoreOptions = {}): S3BlobStore {
  const client = createS3Client(settings)
  // Presigned URLs name the host devices reach; signing needs no network, so a second client is free.
  const presigner = settings.publicEndpoint ? createS3Client(settings, settings.publicEndpoint) : client
  const { bucket, prefix } = settings
  const blobKey = (sha256: string): string => {
    assertBlobKey(sha256)
    return `${prefix}sha256/${sha256}`
  }
  const tempPrefix = `${prefix}tmp/`
  const basePartSize = Math.max(MIN_PART_SIZE, options.partSize ?? 8 * 1024 ** 2)
  const partConcurrency = Math.max(1, options.partConcurrency ?? 3)
  const singleCopyLimit = options.singleCopyLimit ?? MAX_SINGLE_COPY
  const copyPartSize = Math.max(MIN_PART_SIZE, options.copyPartSize ?? 512 * 1024 ** 2)

  const head = async (key: string): Promise<{ size: number; mtime: Date } | null> => {
    try {
      const found = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      return { size: found.ContentLength ?? 0, mtime: found.LastModified ?? new Date(0) }
    } catch (error) {
      if (isNotFound(error)) return null
      throw error
    }
  }
  const deleteKey = (key: string) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))

  return {
    async stage(body, stageOptions) {
      checkStageOptions(stageOptions)
      const tempKey = `${tempPrefix}${randomBytes(16).toString('hex')}`
      const digest = await receive(body, stageOptions)
      let state: 'staged' | 'committed' | 'discarded' = 'staged'
      const staged: S3StagedBlob = {
        get path(): string {
          throw new Error('an upload staged in S3 has no local path: inspect it through openSource()')
        },
        sha256: digest.sha256,
        size: digest.size,
        chunkSha256s: digest.chunkSha256s,
        async openSource() {
          if (state !== 'staged') throw new Error(`cannot read a staged blob that was ${state}`)
          return openObjectSource({ client, bucket, key: tempKey, size: digest.size })
        },
        async commit() {
          if (state === 'committed') return
          if (state === 'discarded') throw new Error('cannot commit a staged blob that was discarded')
          const target = blobKey(digest.sha256)
          const existing = await head(target)
          // Same hash and size: the same content is already stored (dedup); a different size means damage: replace it.
          if (existing?.size !== digest.size) await copyObject(client, { bucket, from: tempKey, to: target, size: digest.size, singleCopyLimit, copyPartSize, concurrency: partConcurrency })
          state = 'committed'
          await deleteKey(tempKey).catch(() => {}) // a leftover is removed by cleanTemp
        },
        async discard() {
          if (state !== 'staged') return
          state = 'discarded'
          await deleteKey(tempKey)
        },
      }
      return staged

      async function receive(input: Readable, { maxBytes, chunkSize }: StageOptions) {
        const hasher = createChunkedHasher(chunkSize)
        let size = 0
        // Hash and count on the way through: the bytes go to S3 once, and are never held whole.
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            size += chunk.length
            if (size > maxBytes) return callback(new AirstripError('upload-too-large', undefined, { details: { maxBytes } }))
            hasher.update(chunk)
            callback(null, chunk)
          },
        })
        input.once('error', (error) => counted.destroy(error))
        input.once('close', () => {
          if (!input.readableEnded) counted.destroy(Object.assign(new Error('the upload body closed early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))
        })
        input.pipe(counted)
        const upload = new Upload({
          client,
          params: { Bucket: bucket, Key: tempKey, Body: counted, ContentType: 'application/octet-stream' },
          partSize: Math.max(basePartSize, Math.ceil(maxBytes / (MAX_PARTS - 1))),
          queueSize: partConcurrency,
          // A failed upload must not leave invisible, billed parts behind: abort the multipart upload.
          leavePartsOnError: false,
        })
        try {
          await upload.done()
        } catch (error) {
          if (!input.destroyed) input.destroy()
          counted.destroy()
          // An empty-bodied PutObject or a completed upload leaves an object: remove it too.
          await deleteKey(tempKey).catch(() => {})
          throw isAirstripError(error) ? error : input.errored || counted.errored === error || isPrematureClose(error) ? new AirstripError('upload-aborted', undefined, { cause: error }) : error
        }
        return hasher.digest()
      }
    },

    async putBytes(bytes) {
      const key = createHash('sha256').update(bytes).digest('hex')
      const target = blobKey(key)
      if ((await head(target))?.size === bytes.length) return key
      // One PutObject is atomic in S3: the object appears whole or not at all.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: target, Body: bytes, ContentLength: bytes.length, ContentType: 'application/octet-stream' }))
      return key
    },

    async stat(sha256) {
      return head(blobKey(sha256))
    },

    async openReader(sha256) {
      const key = blobKey(sha256)
      const found = await head(key)
      return found ? openSequentialReader({ client, bucket, key, size: found.size }) : null
    },

    async openSource(sha256) {
      const key = blobKey(sha256)
      const found = await head(key)
      return found ? openObjectSource({ client, bucket, key, size: found.size }) : null
    },

    async delete(sha256) {
      const key = blobKey(sha256)
      if (!(await head(key))) return false
      await deleteKey(key)
      return true
    },

    async cleanTemp(olderThanMs) {
      return removeStaleStaging(client, bucket, tempPrefix, Date.now() - olderThanMs)
    },

    async presignDownload(sha256, { expiresInSeconds, contentType, fileName }) {
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: blobKey(sha256),
        ResponseContentType: contentType,
        ...(fileName ? { ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}` } : {}),
      })
      return getSignedUrl(presigner, command, { expiresIn: expiresInSeconds })
    },

    async probeWritable(signal) {
      const key = `${tempPrefix}readyz-${randomBytes(8).toString('hex')}`
      const options = signal ? { abortSignal: signal } : {}
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'ok', ContentLength: 2, ContentType: 'text/plain' }), options)
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), options)
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), options)
      } catch (error) {
        const reason = signal?.aborted ? `no answer within the time limit` : error instanceof Error ? error.message || error.name : String(error)
        throw new Error(`S3 bucket "${bucket}"${settings.endpoint ? ` at ${settings.endpoint}` : ''}: ${reason}`, { cause: error })
      }
    },

    close() {
      client.destroy()
      if (presigner !== client) presigner.destroy()
    },
  }
}


/** A 404 from S3 (NoSuchKey on GET, NotFound on HEAD, NoSuchUpload). */
function isNotFound(error: unknown): boolean {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404
}

function isPrematureClose(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE'
}

function checkStageOptions({ maxBytes, chunkSize }: StageOptions): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`)
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
}
