import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AirstripError } from '../errors.ts'
import type { BlobReader, BlobStore } from '../store/blob-store.ts'

/**
 * Download buffers come out of one budget: each download holds two buffers of 16–256 KiB for its
 * whole length, sized by what the budget has left when it starts. Measured on the serve benchmark
 * (loopback, TLS): 256 KiB reads stream ~25 % faster than 64 KiB ones, while 200 concurrent
 * downloads must not hold 100 MiB of buffers (plus as much again queued in TLS, which holds one
 * chunk per connection). So the first few downloads get large buffers and a crowd small ones
 * (200 at once: ~10 MiB of buffers in all); a phone on Wi-Fi needs no more than 16 KiB reads.
 */
const BUFFER_BUDGET = 4 * 1024 * 1024
const MIN_BUFFER = 16 * 1024
const MAX_BUFFER = 256 * 1024
let bufferBytesInUse = 0

/** The largest power of two in MIN_BUFFER…MAX_BUFFER such that two of them fit what the budget has left, but no larger than the body. */
function bufferSizeFor(length: number): number {
  let size = MAX_BUFFER
  while (size > MIN_BUFFER && 2 * size > BUFFER_BUDGET - bufferBytesInUse) size /= 2
  return Math.min(size, length)
}

export interface BlobResponse {
  sha256: string
  size: number
  lastModified: Date
  contentType: string
  /** Told which bytes [start, start + sent) reached the socket, once a GET's body is done or cut (install analytics). */
  onSent?: (start: number, sent: number) => void
}

/**
 * Serves an immutable blob the way iOS's installer needs it: a direct 200 with the exact
 * Content-Length and no Content-Encoding, `Accept-Ranges: bytes` with correct 206/416 answers (the
 * installer resumes interrupted downloads), a strong ETag (the content hash) and Last-Modified,
 * conditional requests, and HEAD without a body. The body is written straight to the socket from
 * two reused buffers (see `writeBody`); nothing is buffered and nothing is allocated per chunk.
 */
export async function sendBlob(request: FastifyRequest, reply: FastifyReply, blob: BlobResponse, blobs: BlobStore): Promise<FastifyReply> {
  const etag = `"${blob.sha256}"`
  reply
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    .header('last-modified', blob.lastModified.toUTCString())
    .header('cache-control', 'private, no-transform')
    .type(blob.contentType)

  if (notModified(request, etag, blob.lastModified)) return reply.code(304).send()

  const range = honouredRange(request, etag, blob.size)
  if (range === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${blob.size}`).type('text/plain; charset=utf-8').send('requested range not satisfiable\n')
  }
  const [start, end] = range ?? [0, blob.size - 1]
  const length = blob.size === 0 ? 0 : end - start + 1
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${blob.size}`)
  reply.header('content-length', length)
  const reader = request.method === 'HEAD' || length === 0 ? null : await blobs.openReader(blob.sha256)
  if (!reader && request.method !== 'HEAD' && length > 0) throw new AirstripError('not-found', 'the file is missing from storage')
  // Hijacked: Fastify would recompute Content-Length from an empty HEAD body, and its stream
  // sending allocates per chunk. Headers set so far (security headers included) go out as they are.
  reply.hijack()
  const response = reply.raw
  response.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>)
  if (!reader) {
    response.end()
    return reply
  }
  try {
    const sent = await writeBody(reader, response, start, end)
    blob.onSent?.(start, sent)
  } catch (error) {
    // Headers are out: all that is left is to cut the connection so the client sees a short body.
    request.log.warn({ err: error }, 'blob download failed mid-way')
    response.destroy()
  } finally {
    await reader.close()
  }
  return reply
}

/**
 * Writes bytes `start`…`end` (inclusive) of `reader` to `response` through two buffers: the next
 * chunk is read into one while the other is being written. One write at a time, and the next only
 * after the write callback: a slow client holds at most one chunk in the TLS layer beyond the
 * kernel's socket buffer (backpressure), and a buffer is never refilled while the socket may still
 * read it. Resolves with the number of bytes the socket took, once all is written or the client
 * has gone (never with a read in flight, so the caller may close the reader); rejects on a read
 * error.
 *
 * Callbacks rather than an async loop: per chunk this allocates one read promise and nothing else,
 * which keeps 200 concurrent downloads' garbage (and so the heap) small.
 */
function writeBody(reader: BlobReader, response: ServerResponse, start: number, end: number): Promise<number> {
  const bufferSize = bufferSizeFor(end - start + 1)
  const buffers = [Buffer.allocUnsafeSlow(bufferSize), Buffer.allocUnsafeSlow(bufferSize)] as const
  bufferBytesInUse += 2 * bufferSize
  return new Promise<number>((resolve, reject) => {
    let position = start
    /** Bytes whose write completed, and the size of the write in flight. */
    let sent = 0
    let inFlight = 0
    let turn: 0 | 1 = 0
    let reading = false
    let writing = false
    /** A chunk read and waiting for the write in flight to finish. */
    let ready: Buffer | null = null
    let outcome: { error: unknown } | null = null

    const settle = (error?: unknown): void => {
      outcome ??= { error }
      if (reading) return // resolved from onRead: the reader must not be closed under a read
      response.off('close', onClose)
      if (outcome.error === undefined) resolve(sent)
      else reject(outcome.error)
    }
    const onClose = (): void => settle()
    const onWritten = (error?: Error | null): void => {
      writing = false
      if (!error) sent += inFlight
      if (error) settle() // the client went away
      else pump()
    }
    const onRead = (read: number): void => {
      reading = false
      if (outcome) return settle()
      if (read === 0) return settle(new Error(`blob ended at byte ${position}, before byte ${end}`))
      const buffer = buffers[turn]
      ready = read === buffer.length ? buffer : buffer.subarray(0, read)
      position += read
      turn = turn === 0 ? 1 : 0
      pump()
    }
    const onReadError = (error: unknown): void => {
      reading = false
      settle(outcome ? undefined : error)
    }
    const pump = (): void => {
      if (outcome) return
      if (ready && !writing) {
        writing = true
        const chunk = ready
        ready = null
        inFlight = chunk.length
        response.write(chunk, onWritten)
      }
      if (!ready && !reading && position <= end) {
        // The buffer read into now is the one written before `ready`'s: its write has completed.
        reading = true
        const buffer = buffers[turn]
        const want = Math.min(bufferSize, end - position + 1)
        reader.read(want === bufferSize ? buffer : buffer.subarray(0, want), position).then(onRead, onReadError)
      } else if (!ready && !reading && !writing) {
        response.end()
        settle()
      }
    }

    response.once('close', onClose)
    if (response.destroyed) settle()
    else pump()
  }).finally(() => {
    bufferBytesInUse -= 2 * bufferSize
  })
}

function notModified(request: FastifyRequest, etag: string, lastModified: Date): boolean {
  const ifNoneMatch = request.headers['if-none-match']
  if (ifNoneMatch) return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')
  const ifModifiedSince = request.headers['if-modified-since']
  if (ifModifiedSince) {
    const since = Date.parse(ifModifiedSince)
    return !Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000)
  }
  return false
}

/**
 * The single byte range to serve, inclusive; null for the whole body. Multiple ranges, malformed
 * headers and a stale If-Range all fall back to the whole body, as RFC 9110 allows.
 */
export function honouredRange(request: FastifyRequest, etag: string, size: number): [number, number] | 'unsatisfiable' | null {
  const header = request.headers.range
  if (!header || (request.method !== 'GET' && request.method !== 'HEAD')) return null
  const ifRange = request.headers['if-range']
  if (ifRange && String(ifRange).trim() !== etag) return null
  return parseRange(header, size)
}

export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return null
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(match[1])
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
  if (start >= size || start > end) return 'unsatisfiable'
  return [start, end]
}
