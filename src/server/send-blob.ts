import type { FastifyReply, FastifyRequest } from 'fastify'
import type { BlobStore } from '../store/blob-store.ts'

export interface BlobResponse {
  sha256: string
  size: number
  lastModified: Date
  contentType: string
}

/**
 * Serves an immutable blob the way iOS's installer needs it: a direct 200 with the exact
 * Content-Length and no Content-Encoding, `Accept-Ranges: bytes` with correct 206/416 answers (the
 * installer resumes interrupted downloads), a strong ETag (the content hash) and Last-Modified,
 * conditional requests, and HEAD without a body. Streams with large reads; nothing is buffered.
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
  if (request.method === 'HEAD') {
    // Fastify would recompute Content-Length from the (empty) body of a HEAD answer: write it ourselves.
    reply.hijack()
    reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>)
    reply.raw.end()
    return reply
  }
  if (length === 0) return reply.send()
  return reply.send(blobs.createReadStream(blob.sha256, { start, end }))
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
