import { randomUUID } from 'node:crypto'
import { open, stat, type FileHandle } from 'node:fs/promises'
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { http } from '../io/node-http.ts'
import { request as httpsRequest } from 'node:https'
import { basename } from 'node:path'
import { getCACertificates } from 'node:tls'
import { AirstripError } from '../errors.ts'
import { pacedCopy } from '../io/paced-copy.ts'
import { describeNetworkError, errorCode, interpretResponse, retryAfterToMs, type RawResponse, type UploadResult as ServerAnswer } from './upload-answers.ts'

/** The server's 201 answer; `replayed` when it repeats the answer to an earlier attempt of this upload (`Idempotent-Replayed`). */
export interface UploadResult extends ServerAnswer {
  replayed: boolean
}

/** Where an upload goes and how it authenticates. */
export interface UploadTarget {
  /** The server's public URL (origin and optional path prefix), e.g. https://ota.example.com */
  serverUrl: string
  token: string
  /** Extra CA certificates (PEM) trusted on top of Node's store, for a server with a private CA. */
  caPem?: string | null
}

export interface UploadInput {
  file: string
  notes: string | null
  /** Ask the server to notify the app's testers (`notify=true`). */
  notify: boolean
  /** Sent as `Idempotency-Key` on every attempt; default: a fresh random UUID per call. */
  idempotencyKey?: string | undefined
}

export interface RetryPolicy {
  /** Attempts after the first one, for transient failures only. */
  retries: number
  initialDelayMs: number
  maxDelayMs: number
  /** A connection that moves no byte for this long is dropped (and retried). */
  idleTimeoutMs: number
  /**
   * Waits, with the same backoff, while the server answers 409 `idempotency-key-in-progress` (an
   * earlier attempt of this upload is still being stored there); counted apart from `retries`.
   */
  inProgressWaits?: number | undefined
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 4, initialDelayMs: 1000, maxDelayMs: 30_000, idleTimeoutMs: 300_000, inProgressWaits: 10 }

/** What the client reports while it works; the CLI turns it into a progress bar or log lines. */
export interface UploadListener {
  attemptStarted?(attempt: number, size: number): void
  progress?(sent: number, size: number): void
  retrying?(info: { attempt: number; delayMs: number; reason: string }): void
}

/**
 * Release notes travel in the query string of a raw upload; Node's servers refuse request heads
 * over 16 KiB, so the encoded notes get a budget well inside that.
 */
export const NOTES_QUERY_BUDGET = 12 * 1024

/** Transient statuses: what proxies and a restarting server answer. Retried with backoff. */
const TRANSIENT_STATUSES = new Set([502, 503, 504])
/** Socket errors worth another attempt: the server or a proxy dropped or refused the connection. */
const TRANSIENT_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN'])
/** The server answers JSON of a few KiB; anything larger is not Airstrip. */
const MAX_RESPONSE_BYTES = 1024 * 1024
/**
 * 64 KiB pieces: with larger writes, a server that answers early and closes (401, 413, a proxy's
 * 503) often makes the next write fail before Node has read the answer, and it is lost.
 */
const READ_CHUNK = 64 * 1024

/** POST <server>/api/v1/builds?fileName=…&notes=…&notify=true, the URL a raw upload goes to. */
export function uploadUrl(serverUrl: string, input: Pick<UploadInput, 'file' | 'notes' | 'notify'>): URL {
  let base: URL
  try {
    base = new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`)
  } catch {
    throw new AirstripError('bad-request', `the server URL is not an absolute URL: ${serverUrl}`)
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new AirstripError('bad-request', `the server URL must be https:// (or http://): ${serverUrl}`)
  if (base.username || base.password || base.search || base.hash) throw new AirstripError('bad-request', 'the server URL must not carry credentials, a query or a fragment (the token goes in --token)')
  const url = new URL('api/v1/builds', base)
  url.searchParams.set('fileName', basename(input.file))
  if (input.notes) url.searchParams.set('notes', input.notes)
  if (input.notify) url.searchParams.set('notify', 'true')
  if (url.search.length > NOTES_QUERY_BUDGET) {
    throw new AirstripError('bad-request', `the release notes are too long to send with a streamed upload (${url.search.length} bytes URL-encoded, at most ${NOTES_QUERY_BUDGET})`)
  }
  return url
}

/**
 * Streams an .ipa to the server as a raw `application/octet-stream` body: the file is read in
 * 64 KiB pieces with backpressure, so memory stays flat whatever its size. Transient failures
 * (connection reset or refused, timeouts, 502/503/504, an answer cut short) are retried with
 * exponential backoff and jitter, re-streaming the file from its start (a raw body cannot resume).
 * Every attempt carries the same `Idempotency-Key`, so a retry of an upload the server had in fact
 * stored (its answer lost to a gateway timeout or a dropped connection) gets that build back
 * (`replayed`) instead of making a second one; while the server is still storing an earlier
 * attempt (409 `idempotency-key-in-progress`) the client waits and asks again. Anything else fails
 * at once: a 4xx as `upload-refused` carrying the server's `{ error, message }`, the rest as
 * `upload-failed`.
 */
export async function uploadBuild(
  target: UploadTarget,
  input: UploadInput,
  listener: UploadListener = {},
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<UploadResult> {
  const url = uploadUrl(target.serverUrl, input)
  const common = { tls: target.caPem ? { ca: [...getCACertificates('default'), target.caPem] } : {}, idleTimeoutMs: policy.idleTimeoutMs }
  const auth = { authorization: `Bearer ${target.token}`, accept: 'application/json', 'user-agent': 'airstrip-upload' }
  const idempotencyKey = input.idempotencyKey ?? randomUUID()
  const size = (await stat(input.file)).size
  // A server that refuses a request before reading its body closes the connection, and the
  // client's next write can wipe the answer before it is read (RFC 9112 §9.6): check the token and
  // the URL with a bodiless request first, so a 401 or 404 is never lost behind gigabytes.
  const check = await withRetries(policy, listener, url, () => exchange(new URL('?limit=1', url), { ...common, method: 'GET', headers: auth, body: null }))
  if (check.response.status !== 200) return { ...interpretResponse(check.response, check.attempts, 'GET'), replayed: false }
  const upload = await withRetries(policy, listener, url, async (attempt) => {
    if ((await stat(input.file)).size !== size) throw new AirstripError('upload-failed', `${input.file} changed size during the upload`)
    const headers = { ...auth, 'content-type': 'application/octet-stream', 'content-length': size, 'idempotency-key': idempotencyKey }
    return exchange(url, { ...common, method: 'POST', headers, body: bodyOf(input.file, size, attempt, listener) })
  })
  if (isInProgress(upload.response)) {
    throw new AirstripError('upload-failed', `the server was still storing an earlier attempt of this upload after ${upload.attempts} attempts; look for the build before uploading again`)
  }
  return { ...interpretResponse(upload.response, upload.attempts, 'POST'), replayed: upload.response.replayed }
}

/** One answer as the client reads it: also whether it repeats an earlier attempt's, and whether it arrived whole. */
interface ClientResponse extends RawResponse {
  /** `Idempotent-Replayed: true`: the server had stored this upload already. */
  replayed: boolean
  /** The connection ended before the body did (e.g. a proxy dropped it right after the headers). */
  cutShort: boolean
}

/** 409 `idempotency-key-in-progress`: an earlier attempt with this key is still running on the server. */
function isInProgress(response: ClientResponse): boolean {
  if (response.status !== 409) return false
  try {
    const body: unknown = JSON.parse(response.body)
    return typeof body === 'object' && body !== null && 'error' in body && body.error === 'idempotency-key-in-progress'
  } catch {
    return false
  }
}

/**
 * Why an answer calls for another attempt, or null. A success cut short is retried too: the
 * upload's Idempotency-Key makes the retry return the stored build rather than store it twice.
 */
function retryReason(response: ClientResponse): { reason: string; inProgress: boolean } | null {
  if (TRANSIENT_STATUSES.has(response.status)) return { reason: `${response.status} ${response.statusText}`, inProgress: false }
  if (isInProgress(response)) return { reason: `${response.status} the server is still storing an earlier attempt`, inProgress: true }
  if (response.cutShort && response.status >= 200 && response.status < 300) return { reason: `the connection closed in the middle of the ${response.status} answer`, inProgress: false }
  return null
}

/**
 * Sends until an answer is not transient, waiting with exponential backoff and jitter (or
 * Retry-After) after each transient failure. Returns the last answer (a transient status once
 * retries are exhausted); throws `upload-failed` for a network error that is not transient or
 * comes once retries are exhausted. Waits for an in-progress earlier attempt are counted apart.
 */
async function withRetries(
  policy: RetryPolicy,
  listener: UploadListener,
  url: URL,
  send: (attempt: number) => Promise<ClientResponse>,
): Promise<{ response: ClientResponse; attempts: number }> {
  let failures = 0
  let waits = 0
  for (let attempt = 1; ; attempt++) {
    let reason: string
    let retryAfterMs = 0
    let step: number
    try {
      const response = await send(attempt)
      const retry = retryReason(response)
      if (!retry) return { response, attempts: attempt }
      step = retry.inProgress ? ++waits : ++failures
      if (step > (retry.inProgress ? (policy.inProgressWaits ?? 0) : policy.retries)) return { response, attempts: attempt }
      reason = retry.reason
      retryAfterMs = retryAfterToMs(response.retryAfter)
    } catch (error) {
      if (error instanceof AirstripError) throw error
      step = ++failures
      if (!TRANSIENT_ERRORS.has(errorCode(error)) || step > policy.retries) {
        throw new AirstripError('upload-failed', describeNetworkError(error, url, attempt), { cause: error })
      }
      reason = describeNetworkError(error, url, attempt)
    }
    const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (step - 1))
    const delayMs = Math.min(policy.maxDelayMs, Math.max(retryAfterMs, Math.round(backoff * (0.5 + Math.random() * 0.5))))
    listener.retrying?.({ attempt, delayMs, reason })
    await new Promise((resolve) => setTimeout(resolve, delayMs))
  }
}

/** The file to stream as a request body, with progress reported per piece read. */
interface FileBody {
  path: string
  size: number
  started(): void
  progress(sent: number): void
}

function bodyOf(path: string, size: number, attempt: number, listener: UploadListener): FileBody {
  return { path, size, started: () => listener.attemptStarted?.(attempt, size), progress: (sent) => listener.progress?.(sent, size) }
}

interface ExchangeOptions {
  method: 'GET' | 'POST'
  headers: OutgoingHttpHeaders
  body: FileBody | null
  tls: { ca?: string[] }
  idleTimeoutMs: number
}

/**
 * One request and its answer. A server may answer before reading the whole body (413): the answer
 * wins, sending stops, and the socket error that usually follows is ignored.
 */
async function exchange(url: URL, options: ExchangeOptions): Promise<ClientResponse> {
  const file = options.body ? await open(options.body.path, 'r') : null
  try {
    return await exchangeWith(url, options, file)
  } finally {
    await file?.close()
  }
}

function exchangeWith(url: URL, options: ExchangeOptions, file: FileHandle | null): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : http.request
    const request = send(url, { method: options.method, headers: options.headers, agent: false, ...options.tls })
    // Stops sending the file: on an answer or a failure (the file is closed only once no read is in flight).
    const stopSending = new AbortController()
    let sending: Promise<unknown> = Promise.resolve()
    let answered = false
    let settled = false
    const fail = (error: unknown): void => {
      if (settled || answered) return
      settled = true
      stopSending.abort()
      request.destroy()
      void sending.finally(() => reject(error))
    }
    request.setTimeout(options.idleTimeoutMs, () => {
      request.destroy(Object.assign(new Error(`no progress for ${Math.round(options.idleTimeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }))
    })
    request.on('error', fail)
    request.on('response', (response: IncomingMessage) => {
      answered = true
      // Early answer: stop reading the file, the server will not take more.
      stopSending.abort()
      // The status is what counts: a body cut short by the connection closing is used as it is.
      void Promise.all([readCapped(response), sending.catch(() => undefined)]).then(([{ body, cutShort }]) => {
        settled = true
        request.destroy()
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          retryAfter: headerText(response.headers['retry-after']),
          body,
          replayed: headerText(response.headers['idempotent-replayed'])?.trim().toLowerCase() === 'true',
          cutShort,
        })
      })
    })
    if (!file || !options.body) {
      request.end()
      return
    }
    const body = options.body
    const reader = { read: async (into: Uint8Array, position: number) => (await file.read(into, 0, into.length, position)).bytesRead }
    body.started()
    sending = pacedCopy(reader, request, 0, body.size - 1, { bufferSize: READ_CHUNK, signal: stopSending.signal, onWritten: (sent) => body.progress(sent) })
    sending.catch(fail)
  })
}

/**
 * The answer's body as text, at most MAX_RESPONSE_BYTES; whatever arrived if the connection drops
 * (then `cutShort`: the body ended before its Content-Length or chunked end).
 */
function readCapped(response: IncomingMessage): Promise<{ body: string; cutShort: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let length = 0
    let oversized = false
    const done = (): void => resolve({ body: Buffer.concat(chunks).toString('utf8'), cutShort: !response.complete && !oversized })
    response.on('data', (chunk: Buffer) => {
      length += chunk.length
      if (length <= MAX_RESPONSE_BYTES) chunks.push(chunk)
      else {
        oversized = true
        response.destroy()
      }
    })
    response.on('error', done)
    response.on('close', done)
    response.on('end', done)
  })
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
