import { createHash } from 'node:crypto'
import { AirstripError, isAirstripError } from '../errors.ts'
import { inspectSource } from '../ipa/inspect.ts'
import { openFileSource, type RandomAccessSource } from '../ipa/source.ts'
import type { IpaInfo } from '../ipa/types.ts'
import { BufferSource } from './buffer-source.ts'
import type { HashVerification, InspectionOutcome, IpaEvidence } from './evidence.ts'
import type { Deadline, Fetcher, HttpResponse } from './http-fetch.ts'
import { DOCTOR_LIMITS } from './limits.ts'
import type { DeclaredHashes } from './manifest-read.ts'
import { RangedSource } from './ranged-source.ts'

/** Extra allowance for the metadata-only fallback: Info.plist and the profile, each capped at 16 MiB by `src/ipa`. */
const FALLBACK_BYTES = 34 * 1024 * 1024

/**
 * Gathers what doctor knows of a remote .ipa without downloading it: HEAD, a plain GET as iOS
 * sends it (stopped after a peek), a one-range probe, then the real ingest code over Range
 * requests (bounded by `DOCTOR_LIMITS.ipaMetadataBytes`), then a bounded check of the manifest's
 * hashes. A server without Range support gets the file downloaded whole only when it is small.
 */
export async function gatherRemoteIpa(url: string, deps: { fetcher: Fetcher; now: Date; hashes: DeclaredHashes | null }): Promise<IpaEvidence> {
  const { fetcher } = deps
  const evidence: IpaEvidence = {
    url,
    head: null,
    get: null,
    rangeProbe: null,
    size: null,
    transfer: { method: 'none', bytesFetched: 0, requests: 0, violations: [] },
    inspection: { state: 'not-read', reason: 'the .ipa was not fetched' },
    hashes: null,
  }
  evidence.head = await fetcher.follow(url, { method: 'HEAD' })
  evidence.get = await fetcher.follow(url, { body: { peek: DOCTOR_LIMITS.ipaPeekBytes } })
  const get = evidence.get.result
  if (!get.ok) {
    evidence.inspection = { state: 'not-read', reason: `the .ipa could not be fetched: ${get.failure.message}` }
    return evidence
  }
  if (get.response.status !== 200) {
    evidence.inspection = { state: 'not-read', reason: `the .ipa URL answered ${get.response.status}` }
    return evidence
  }
  const head = evidence.head.result.ok && evidence.head.result.response.status === 200 ? evidence.head.result.response : null
  const finalUrl = evidence.get.finalUrl
  let size = contentLength(get.response) ?? (head ? contentLength(head) : null)
  const etag = get.response.headers['etag'] ?? null

  evidence.rangeProbe = await fetcher.fetch(finalUrl, { headers: { range: 'bytes=0-3', 'accept-encoding': 'identity' }, body: { peek: 4 } })
  const probe = evidence.rangeProbe.ok ? evidence.rangeProbe.response : null
  const total = probe?.status === 206 ? /^bytes 0-3\/(\d+)$/.exec(probe.headers['content-range'] ?? '')?.[1] : undefined
  size ??= total === undefined ? null : Number(total)
  evidence.size = size

  if (total !== undefined && size !== null) {
    const source = new RangedSource({ fetcher, url: finalUrl, size, etag, maxBytes: DOCTOR_LIMITS.ipaMetadataBytes })
    evidence.inspection = await inspectWithin(source, deps.now, fetcher.deadline)
    if (deps.hashes && evidence.inspection.state !== 'failed') {
      source.extendBudget(DOCTOR_LIMITS.hashCheckBytes)
      evidence.hashes = await verifyHashes(source, size, deps.hashes, DOCTOR_LIMITS.hashCheckBytes)
    }
    await source.close()
    evidence.transfer = { method: 'ranges', bytesFetched: source.bytesFetched, requests: source.requests, violations: source.violations }
    return evidence
  }
  if (size !== null && size > DOCTOR_LIMITS.ipaDownloadWithoutRangeBytes) {
    evidence.inspection = {
      state: 'not-read',
      reason: `the server ignores Range requests, and doctor downloads an .ipa whole only up to ${DOCTOR_LIMITS.ipaDownloadWithoutRangeBytes} bytes (this one is ${size})`,
    }
    return evidence
  }
  const download = await fetcher.fetch(finalUrl, { body: 'all', maxBytes: DOCTOR_LIMITS.ipaDownloadWithoutRangeBytes, headers: { 'accept-encoding': 'identity' } })
  if (!download.ok || download.response.status !== 200 || !download.response.body) {
    const why = download.ok ? `answered ${download.response.status}` : download.failure.message
    evidence.inspection = { state: 'failed', code: 'remote-read-failed', message: `downloading the .ipa failed: ${why}`, during: 'transfer' }
    return evidence
  }
  const body = download.response.body
  evidence.transfer = { method: 'download', bytesFetched: body.length, requests: 1, violations: [] }
  if (size !== null && body.length !== size) evidence.transfer.violations.push(`the download carried ${body.length} bytes, Content-Length said ${size}`)
  evidence.size ??= body.length
  const source = new BufferSource(body)
  evidence.inspection = await inspectWithin(source, deps.now, fetcher.deadline)
  if (deps.hashes) evidence.hashes = await verifyHashes(source, body.length, deps.hashes, body.length)
  return evidence
}

/** A local .ipa: the ingest code straight from disk. */
export async function gatherLocalIpa(path: string, now: Date, deadline: Deadline): Promise<IpaEvidence> {
  const evidence: IpaEvidence = {
    url: null,
    head: null,
    get: null,
    rangeProbe: null,
    size: null,
    transfer: { method: 'local', bytesFetched: 0, requests: 0, violations: [] },
    inspection: { state: 'not-read', reason: 'not read' },
    hashes: null,
  }
  const source = await openFileSource(path)
  try {
    evidence.size = source.size
    evidence.inspection = await inspectWithin(source, now, deadline)
  } finally {
    await source.close()
  }
  return evidence
}

/**
 * Runs `inspectSource` within what is left of the run's time. Past the fetch budget (a huge
 * executable to stream for its signature) it falls back to the metadata-only read.
 */
export async function inspectWithin(source: RandomAccessSource, now: Date, deadline: Deadline): Promise<InspectionOutcome> {
  try {
    const { info } = await withinDeadline(inspectSource(source, { now, sha256: null }), source, deadline)
    return { state: 'read', info, signatureRead: true, note: null }
  } catch (error) {
    if (!(source instanceof RangedSource) || !isAirstripError(error, 'remote-read-limit') || error.details?.['reason'] !== 'budget') return failure(error)
    source.extendBudget(FALLBACK_BYTES)
    try {
      const { info } = await withinDeadline(inspectSource(source, { now, sha256: null, metadataOnly: true }), source, deadline)
      return { state: 'read', info, signatureRead: false, note: `the code signature was not read: ${error.message}` }
    } catch (fallbackError) {
      return failure(fallbackError)
    }
  }
}

function failure(error: unknown): InspectionOutcome {
  if (isAirstripError(error)) {
    const during = error.code === 'remote-read-failed' || error.code === 'remote-read-limit' ? 'transfer' : 'archive'
    return { state: 'failed', code: error.code, message: error.message, during }
  }
  return { state: 'failed', code: 'archive-corrupt', message: `the archive could not be read: ${(error as Error).message}`, during: 'archive' }
}

/** Races the ingest against the run's deadline; on time-out the source is closed so reads in flight stop. */
async function withinDeadline<T>(work: Promise<T>, source: RandomAccessSource, deadline: Deadline): Promise<T> {
  work.catch(() => {})
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const reason = `the time limit of ${Math.round(deadline.totalMs / 1000)} s for the whole diagnosis was reached while reading the .ipa`
      if (source instanceof RangedSource) void source.close(reason)
      reject(new AirstripError('remote-read-limit', reason, { details: { reason: 'time' } }))
    }, deadline.remaining())
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Verifies the manifest's hashes within `budget` bytes: the chunk count against the file size
 * always; then the last chunk (it holds the central directory, which any truncation or
 * re-packaging changes) and the first; a whole-file hash only for small files. Never the whole
 * of a large .ipa: that is what doctor promises not to download.
 */
async function verifyHashes(source: RandomAccessSource, size: number, declared: DeclaredHashes, budget: number): Promise<HashVerification> {
  const result: HashVerification = { declared, chunksNeeded: null, checked: [], notChecked: [] }
  const hashRange = async (start: number, end: number): Promise<string> => {
    const hash = createHash(declared.algorithm)
    for await (const chunk of source.stream(start, end) as AsyncIterable<Buffer>) hash.update(chunk)
    return hash.digest('hex')
  }
  let left = budget
  try {
    if (declared.chunks && declared.chunkSize) {
      const chunkSize = declared.chunkSize
      const needed = Math.max(1, Math.ceil(size / chunkSize))
      result.chunksNeeded = needed
      const order = [...new Set([needed - 1, 0])].filter((index) => index < declared.chunks!.length)
      for (const index of order) {
        const start = index * chunkSize
        const end = Math.min(size, start + chunkSize)
        const part = `chunk ${index + 1} of ${needed} (bytes ${start}–${end - 1})`
        if (end - start > left) {
          result.notChecked.push(`${part}: larger than what doctor fetches for hash checks`)
          continue
        }
        left -= end - start
        result.checked.push({ part, expected: declared.chunks[index]!, actual: await hashRange(start, end) })
      }
      const skipped = Math.min(needed, declared.chunks.length) - order.length
      if (skipped > 0) result.notChecked.push(`${skipped} other chunk${skipped === 1 ? '' : 's'} (not fetched: doctor does not download the whole .ipa)`)
    } else if (declared.whole) {
      if (size > Math.min(budget, DOCTOR_LIMITS.wholeFileHashBytes)) result.notChecked.push(`the whole-file ${declared.algorithm} (the .ipa is ${size} bytes; doctor hashes whole files up to ${DOCTOR_LIMITS.wholeFileHashBytes})`)
      else result.checked.push({ part: 'the whole file', expected: declared.whole, actual: await hashRange(0, size) })
    }
  } catch (error) {
    result.notChecked.push(`hashing stopped: ${(error as Error).message}`)
  }
  return result
}

function contentLength(response: HttpResponse): number | null {
  const value = response.headers['content-length']
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : null
}
