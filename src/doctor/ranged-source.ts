import { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'
import type { RandomAccessSource } from '../ipa/source.ts'
import type { Fetcher, HttpResponse } from './http-fetch.ts'
import { RequestTimeoutError } from './network-errors.ts'
import { DOCTOR_LIMITS } from './limits.ts'

export interface RangedSourceOptions {
  fetcher: Fetcher
  url: string
  /** The file size (from HEAD / Content-Range). */
  size: number
  /** The ETag seen when probing: another one in a later answer means the file changed while being read. */
  etag: string | null
  /** Total bytes this source may fetch; past it reads fail with `remote-read-limit`. */
  maxBytes: number
  blockBytes?: number
}

/** Reads up to this size are served from (and fill) the block cache; larger streams go straight through. */
const CACHED_STREAM_BYTES = 1024 * 1024

/**
 * A `RandomAccessSource` over HTTP Range requests, so the real ingest code (`inspectSource`) reads
 * a remote .ipa's central directory, Info.plist, profile and code signature without downloading
 * the file. Small reads are rounded to blocks, cached, and coalesced: contiguous missing blocks go
 * in one request, and reads waiting for a block already in flight share it. Every answer must be
 * a 206 with the exact Content-Range, no Content-Encoding and the same ETag; anything else is a
 * `remote-read-failed` whose message says which rule broke (`violations` keeps them for the report).
 */
export class RangedSource implements RandomAccessSource {
  readonly size: number
  /** Bytes fetched so far (body bytes received). */
  bytesFetched = 0
  requests = 0
  /** HTTP rules the server broke while answering ranges (short bodies, wrong Content-Range, changed ETag). */
  readonly violations: string[] = []
  readonly #fetcher: Fetcher
  readonly #url: string
  readonly #etag: string | null
  readonly #blockBytes: number
  #limit: number
  readonly #blocks = new Map<number, Buffer>()
  readonly #pending = new Map<number, Promise<void>>()
  readonly #open = new Set<Readable>()
  #closed: string | null = null

  constructor(options: RangedSourceOptions) {
    this.size = options.size
    this.#fetcher = options.fetcher
    this.#url = options.url
    this.#etag = options.etag
    this.#limit = options.maxBytes
    this.#blockBytes = options.blockBytes ?? DOCTOR_LIMITS.rangeBlockBytes
  }

  /** Lets this source fetch `bytes` more (a later phase with its own allowance, e.g. hash checks). */
  extendBudget(bytes: number): void {
    this.#limit = this.bytesFetched + bytes
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new AirstripError('archive-corrupt', `read of ${length} bytes at ${offset} goes past the end of the ${this.size}-byte file`)
    }
    if (length === 0) return Buffer.alloc(0)
    const first = Math.floor(offset / this.#blockBytes)
    const last = Math.floor((offset + length - 1) / this.#blockBytes)
    await this.#ensure(first, last)
    const out = Buffer.allocUnsafe(length)
    for (let index = first; index <= last; index++) {
      const block = this.#blocks.get(index)!
      const blockStart = index * this.#blockBytes
      const from = Math.max(offset, blockStart)
      const to = Math.min(offset + length, blockStart + block.length)
      block.copy(out, from - offset, from - blockStart, to - blockStart)
    }
    return out
  }

  async readInto(buffer: Buffer, position: number): Promise<number> {
    const length = Math.min(buffer.length, this.size - position)
    if (length <= 0) return 0
    ;(await this.read(position, length)).copy(buffer)
    return length
  }

  stream(start: number, end: number): Readable {
    const readable =
      end - start <= CACHED_STREAM_BYTES
        ? Readable.from(this.#cachedChunks(start, end), { objectMode: false })
        : Readable.from(this.#rangeChunks(start, end - 1), { objectMode: false })
    this.#open.add(readable)
    readable.once('close', () => this.#open.delete(readable))
    return readable
  }

  /** Stops every read in flight; later reads fail with `reason` (e.g. the run's time limit). */
  async close(reason = 'the remote file was closed'): Promise<void> {
    this.#closed ??= reason
    for (const readable of this.#open) readable.destroy(new AirstripError('remote-read-limit', reason, { details: { reason: 'closed' } }))
    this.#open.clear()
  }

  async *#cachedChunks(start: number, end: number): AsyncGenerator<Buffer> {
    if (end > start) yield await this.read(start, end - start)
  }

  async #ensure(first: number, last: number): Promise<void> {
    const waits: Promise<void>[] = []
    let runStart: number | null = null
    const flush = (runEnd: number): void => {
      if (runStart === null) return
      const run = this.#fetchBlocks(runStart, runEnd)
      for (let index = runStart; index <= runEnd; index++) this.#pending.set(index, run)
      waits.push(run)
      runStart = null
    }
    for (let index = first; index <= last; index++) {
      if (this.#blocks.has(index)) {
        flush(index - 1)
        continue
      }
      const pending = this.#pending.get(index)
      if (pending) {
        flush(index - 1)
        waits.push(pending)
        continue
      }
      runStart ??= index
    }
    flush(last)
    await Promise.all(waits)
  }

  async #fetchBlocks(first: number, last: number): Promise<void> {
    const start = first * this.#blockBytes
    const end = Math.min(this.size, (last + 1) * this.#blockBytes) - 1
    try {
      const chunks: Buffer[] = []
      for await (const chunk of this.#rangeChunks(start, end)) chunks.push(chunk)
      const body = Buffer.concat(chunks)
      for (let index = first; index <= last; index++) {
        const offset = index * this.#blockBytes - start
        this.#blocks.set(index, body.subarray(offset, Math.min(body.length, offset + this.#blockBytes)))
      }
    } finally {
      for (let index = first; index <= last; index++) this.#pending.delete(index)
    }
  }

  /** The bytes [start, end] (inclusive) from one Range request, checked against the HTTP rules as they arrive. */
  async *#rangeChunks(start: number, end: number): AsyncGenerator<Buffer> {
    const length = end - start + 1
    if (this.#closed) throw new AirstripError('remote-read-limit', this.#closed, { details: { reason: 'closed' } })
    if (this.bytesFetched + length > this.#limit) {
      throw new AirstripError('remote-read-limit', `reading ${length} more bytes of the .ipa would fetch more than the ${this.#limit} doctor allows itself`, {
        details: { reason: 'budget' },
      })
    }
    this.requests++
    const result = await this.#fetcher.stream(this.#url, { range: `bytes=${start}-${end}`, 'accept-encoding': 'identity' })
    if (!result.ok) {
      throw new AirstripError(result.failure.kind === 'timeout' ? 'remote-read-limit' : 'remote-read-failed', `reading bytes ${start}-${end} of the .ipa: ${result.failure.message}`)
    }
    const { response, body } = result.streamed
    let received = 0
    try {
      const problem = this.#rangeProblem(response, start, end)
      if (problem) throw this.#violation(problem)
      for await (const chunk of body as AsyncIterable<Buffer>) {
        received += chunk.length
        this.bytesFetched += chunk.length
        if (received > length) throw this.#violation(`the answer to a request for ${length} bytes (${start}-${end}) carried more`)
        yield chunk
      }
    } catch (error) {
      if (error instanceof AirstripError) throw error
      const message = (error as Error).message
      if (error instanceof RequestTimeoutError) throw new AirstripError('remote-read-limit', `reading bytes ${start}-${end} of the .ipa: ${message}`)
      throw this.#violation(`the answer to bytes ${start}-${end} broke off after ${received} of ${length} bytes (${message})`)
    } finally {
      body.destroy()
    }
    if (received < length) throw this.#violation(`the answer to bytes ${start}-${end} ended after ${received} of ${length} bytes`)
  }

  #rangeProblem(response: HttpResponse, start: number, end: number): string | null {
    if (response.status === 200) return 'the server ignored the Range header (answered 200 with the whole file)'
    if (response.status !== 206) return `a Range request for bytes ${start}-${end} answered ${response.status}`
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '')
    if (!range) return `a 206 answer has no valid Content-Range ("${response.headers['content-range'] ?? ''}")`
    if (Number(range[1]) !== start || Number(range[2]) !== end) return `asked for bytes ${start}-${end}, the server sent ${range[1]}-${range[2]}`
    if (range[3] !== String(this.size)) return `Content-Range says the file is ${range[3]} bytes, but its Content-Length was ${this.size}`
    const encoding = response.headers['content-encoding']
    if (encoding && encoding.toLowerCase() !== 'identity') return `a ranged answer is compressed (Content-Encoding: ${encoding})`
    const etag = response.headers['etag']
    // Weak and strong forms of one validator are the same file (some servers weaken ETags on 206s).
    const strong = (tag: string): string => tag.replace(/^W\//, '')
    if (this.#etag && etag && strong(etag) !== strong(this.#etag)) return `the file changed while it was being read (ETag ${this.#etag} → ${etag})`
    return null
  }

  #violation(message: string): AirstripError {
    this.violations.push(message)
    return new AirstripError('remote-read-failed', message)
  }
}
