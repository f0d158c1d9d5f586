import { GetObjectCommand } from '@aws-sdk/client-s3'
import type { S3Client } from '@aws-sdk/client-s3'
import { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'
import type { RandomAccessSource } from '../ipa/source.ts'
import type { BlobReader } from './blob-store.ts'

/** One object in a bucket, of a size known beforehand (from HEAD or from the upload itself). */
export interface S3Object {
  client: S3Client
  bucket: string
  key: string
  size: number
}

/** The object's bytes [start, end) as a Node stream (end exclusive; empty when end ≤ start). */
async function getRange(object: S3Object, start: number, end: number): Promise<Readable> {
  const response = await object.client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, Range: `bytes=${start}-${end - 1}` }))
  const body = response.Body as Readable | undefined
  if (!body) throw new Error(`GET ${object.key} answered without a body`)
  return body
}

/**
 * Random access to an object through ranged GETs, for inspecting an upload where it lies (no
 * local copy). Each `read` is one request; the archive reader batches small reads into windows
 * and streams entries through `stream`, so an inspection costs a handful of requests.
 */
export function openObjectSource(object: S3Object): RandomAccessSource {
  const { size } = object
  return {
    size,
    async read(offset, length) {
      const buffer = Buffer.allocUnsafe(length)
      const filled = length === 0 ? 0 : await readRangeInto(object, buffer, offset)
      if (filled < length) throw new AirstripError('archive-corrupt', `unexpected end of file at byte ${offset + filled}`)
      return buffer
    },
    async readInto(buffer, position) {
      return position >= size || buffer.length === 0 ? 0 : readRangeInto(object, buffer, position)
    },
    stream(start, end) {
      const stop = Math.min(end, size)
      if (stop <= start) return Readable.from([], { objectMode: false })
      // A generator: when the consumer stops early, its return() closes the GET's body too.
      return Readable.from(
        (async function* () {
          yield* (await getRange(object, start, stop)) as AsyncIterable<Buffer>
        })(),
        { objectMode: false },
      )
    },
    async close() {},
  }
}

/** Fills `buffer` from `position` with one ranged GET; returns how many bytes came (fewer only at the end). */
async function readRangeInto(object: S3Object, buffer: Buffer, position: number): Promise<number> {
  const end = Math.min(object.size, position + buffer.length)
  if (end <= position) return 0
  let filled = 0
  for await (const chunk of (await getRange(object, position, end)) as AsyncIterable<Buffer>) {
    const take = Math.min(chunk.length, buffer.length - filled)
    chunk.copy(buffer, filled, 0, take)
    filled += take
  }
  return filled
}

/**
 * A BlobReader for downloads: one streaming GET from the first position asked for to the end of
 * the object, consumed as the caller reads on (a request per read would cost a round trip per
 * 64 KiB). A read elsewhere starts a new GET there; a GET that breaks mid-way (an idle
 * connection dropped while a slow client paused) is resumed once at the same position.
 */
export function openSequentialReader(object: S3Object): BlobReader {
  let cursor: { position: number; chunks: AsyncIterator<Buffer>; leftover: Buffer | null } | null = null
  let closed = false
  const release = async (): Promise<void> => {
    const current = cursor
    cursor = null
    await current?.chunks.return?.().catch(() => {})
  }
  const openAt = async (position: number): Promise<NonNullable<typeof cursor>> => {
    const body = await getRange(object, position, object.size)
    return { position, chunks: (body as AsyncIterable<Buffer>)[Symbol.asyncIterator](), leftover: null }
  }
  let queue: Promise<unknown> = Promise.resolve()

  const readNow = async (into: Uint8Array, position: number): Promise<number> => {
    if (closed) throw new Error('the blob reader is closed')
    const wanted = Math.min(into.length, object.size - position)
    if (wanted <= 0) return 0
    if (cursor?.position !== position) {
      await release()
      cursor = await openAt(position)
    }
    let filled = 0
    let resumed = false
    while (filled < wanted) {
      let chunk = cursor.leftover
      if (!chunk) {
        try {
          const next = await cursor.chunks.next()
          if (next.done) throw new Error(`${object.key} ended at byte ${cursor.position + filled} of ${object.size}`)
          chunk = next.value
        } catch (error) {
          if (resumed) throw error
          resumed = true
          await release()
          cursor = await openAt(position + filled)
          cursor.position = position
          continue
        }
      }
      const take = Math.min(chunk.length, wanted - filled)
      into.set(chunk.subarray(0, take), filled)
      filled += take
      cursor.leftover = take < chunk.length ? chunk.subarray(take) : null
    }
    cursor.position = position + filled
    return filled
  }

  return {
    size: object.size,
    // Reads are served one at a time, in the order asked: they share one stream.
    read(into, position) {
      const result = queue.then(() => readNow(into, position))
      queue = result.catch(() => {})
      return result
    },
    async close() {
      closed = true
      await queue
      await release()
    },
  }
}
