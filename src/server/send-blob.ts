import type { ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AirstripError } from '../errors.ts'
import { pacedCopy } from '../io/paced-copy.ts'
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
 * two reused buffers (see `pacedCopy`); nothing is buffered and nothing is allocated per chunk.
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

/** Writes bytes `start`…`end` of `reader` to `response` (see `pacedCopy`), with buffers from the download budget. */
async function writeBody(reader: BlobReader, response: ServerResponse, start: number, end: number): Promise<number> {
  const bufferSize = bufferSizeFor(end - start + 1)
  bufferBytesInUse += 2 * bufferSize
  try {
    return await pacedCopy(reader, response, start, end, { bufferSize })
  } finally {
    bufferBytesInUse -= 2 * bufferSize
  }
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
