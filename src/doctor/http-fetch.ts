import type { ClientRequest, IncomingMessage } from 'node:http'
import { http } from '../io/node-http.ts'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { createSecureContext } from 'node:tls'
import { decodeBody } from './content-encoding.ts'
import { DOCTOR_LIMITS } from './limits.ts'
import { classifyNetworkError, RequestTimeoutError } from './network-errors.ts'
import type { TrustStore } from './trust-store.ts'

/**
 * The one place doctor talks HTTP, the way iOS's installer does: no cookies (none are sent, none
 * kept), an appstored user agent, TLS verified against the system CAs plus `--ca-file`, redirects
 * followed one hop at a time and recorded (never silently), and every request bounded by a time
 * limit (itself bounded by what is left of the whole run) and a body cap.
 *
 * A TLS verification failure does not stop the diagnosis: the request is retried without
 * verification and the response is marked `tlsBypassed`, so the checks after the TLS ones still
 * see the manifest and the .ipa. The device would stop at the TLS failure; the TLS checks say so.
 *
 * (Longer than most files: one request's whole life — time limit, body cap, TLS fallback, stream
 * hand-over — lives in one closure so that no path can forget to clear its timer.)
 */

/** What appstored sends when it fetches a manifest or an .ipa (SignTools#36 logged the form). */
export const INSTALLER_USER_AGENT = 'com.apple.appstored/1.0 iOS/18.5 model/iPhone17,1 hwp/t8140 build/22F76 (6; dt:305) AMS/1'
/** Mobile Safari, for install pages: servers often render the Install button only for it. */
export const SAFARI_USER_AGENT =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1'

/** A time budget shared by every request of one run. */
export interface Deadline {
  readonly totalMs: number
  remaining(): number
}

export function createDeadline(totalMs: number): Deadline {
  const end = performance.now() + totalMs
  return { totalMs, remaining: () => Math.max(0, end - performance.now()) }
}

export type FailureKind = 'dns' | 'refused' | 'network' | 'timeout' | 'reset' | 'tls' | 'headers-too-large' | 'too-large' | 'protocol' | 'bad-url' | 'other'

export interface FetchFailure {
  url: string
  kind: FailureKind
  /** The underlying error code (ENOTFOUND, HPE_HEADER_OVERFLOW, DEPTH_ZERO_SELF_SIGNED_CERT…). */
  code: string | null
  message: string
  bytesReceived: number
}

export interface HttpResponse {
  url: string
  method: 'GET' | 'HEAD'
  status: number
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** The server tried to set a cookie (iOS's installer will never send it back). */
  setCookie: boolean
  /** null when the body was not read; decoded when `decode` was asked. */
  body: Buffer | null
  /** The body was only peeked at (more followed). */
  truncated: boolean
  elapsedMs: number
  /** The TLS verification error this request went past, or null when TLS verified (or plain http). */
  tlsBypassed: string | null
}

export type FetchResult = { ok: true; response: HttpResponse } | { ok: false; failure: FetchFailure }

export interface RedirectHop {
  url: string
  status: number
  location: string
}

export type RedirectProblem = 'downgrade' | 'loop' | 'too-many' | 'bad-location'

/** A request with its redirects followed one by one and recorded. */
export interface FollowedFetch {
  url: string
  finalUrl: string
  hops: RedirectHop[]
  problems: RedirectProblem[]
  result: FetchResult
}

export interface FetchOptions {
  method?: 'GET' | 'HEAD'
  /** Added to (and overriding) the installer's default headers. */
  headers?: Record<string, string>
  userAgent?: string
  /** 'none': stop after the headers · 'all': the whole body, failing past `maxBytes` · peek: at most n bytes. */
  body?: 'none' | 'all' | { peek: number }
  maxBytes?: number
  /** Undo gzip/deflate/br (a manifest or page may be compressed; an .ipa must not be). */
  decode?: boolean
}

/** A response whose body is handed over as a stream (ranged reads); the request's time limit keeps running. */
export interface StreamedResponse {
  response: HttpResponse
  body: IncomingMessage
}

export interface Fetcher {
  readonly deadline: Deadline
  fetch(url: string, options?: FetchOptions): Promise<FetchResult>
  follow(url: string, options?: FetchOptions): Promise<FollowedFetch>
  stream(url: string, headers: Record<string, string>): Promise<{ ok: true; streamed: StreamedResponse } | { ok: false; failure: FetchFailure }>
  close(): void
}

export interface FetcherOptions {
  trust: TrustStore
  deadline: Deadline
  requestTimeoutMs: number
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

/** Creates the fetcher of one doctor run; `close()` drops its kept-alive connections and aborts what is in flight. */
export function createFetcher(options: FetcherOptions): Fetcher {
  const strictAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4, secureContext: createSecureContext({ ca: options.trust.pems }) })
  // Past a verification failure: any certificate, and old protocols, so the rest can still be diagnosed.
  const bypassAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets: 4,
    rejectUnauthorized: false,
    secureContext: createSecureContext({ minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }),
  })
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  const bypassed = new Map<string, string>()
  const inFlight = new Set<ClientRequest>()
  let closed = false

  type Mode = FetchOptions['body'] | 'stream'
  type Attempt = { ok: true; response: HttpResponse; stream?: IncomingMessage } | { ok: false; failure: FetchFailure }

  const attempt = (url: URL, fetchOptions: FetchOptions, mode: Mode, stopAtRedirect: boolean, bypass: string | null): Promise<Attempt> =>
    new Promise((resolve) => {
      const started = performance.now()
      const method = fetchOptions.method ?? 'GET'
      const maxBytes = fetchOptions.maxBytes ?? Number.MAX_SAFE_INTEGER
      let received = 0
      let settled = false
      let timer: NodeJS.Timeout | undefined
      const fail = (kind: FailureKind, message: string, code: string | null = null): Attempt => ({
        ok: false,
        failure: { url: url.href, kind, code, message, bytesReceived: received },
      })
      const finish = (result: Attempt, keepTimer = false): void => {
        if (settled) return
        settled = true
        if (!keepTimer) {
          clearTimeout(timer)
          inFlight.delete(req)
        }
        resolve(result)
      }
      const timeoutMs = Math.min(options.requestTimeoutMs, options.deadline.remaining())
      if (closed || timeoutMs <= 0) {
        resolve(fail('timeout', closed ? 'the diagnosis was stopped' : `the time limit of ${seconds(options.deadline.totalMs)} for the whole diagnosis was reached`))
        return
      }
      const headers: Record<string, string> = {
        'user-agent': fetchOptions.userAgent ?? INSTALLER_USER_AGENT,
        accept: '*/*',
        'accept-language': 'en-US,en;q=0.9',
        'accept-encoding': 'gzip, deflate, br',
        ...fetchOptions.headers,
      }
      const https = url.protocol === 'https:'
      const send = https ? httpsRequest : http.request
      const req = send(url, {
        method,
        headers,
        agent: https ? (bypass ? bypassAgent : strictAgent) : httpAgent,
        maxHeaderSize: DOCTOR_LIMITS.headerBytes,
      })
      inFlight.add(req)
      timer = setTimeout(() => {
        const error = new RequestTimeoutError(`no complete answer within ${seconds(timeoutMs)}${received > 0 ? ` (${received} bytes of the body received)` : ''}`)
        req.destroy(error)
      }, timeoutMs)

      req.on('error', (error) => finish(fail(...classifyNetworkError(error, url))))
      req.on('response', (res) => {
        const response: HttpResponse = {
          url: url.href,
          method,
          status: res.statusCode ?? 0,
          headers: flattenHeaders(res.headersDistinct),
          setCookie: res.headers['set-cookie'] !== undefined,
          body: null,
          truncated: false,
          elapsedMs: 0,
          tlsBypassed: bypass,
        }
        const declared = Number(response.headers['content-length'])
        const isRedirect = stopAtRedirect && REDIRECT_STATUSES.has(response.status) && response.headers['location'] !== undefined
        if (mode === 'stream' && !isRedirect) {
          response.elapsedMs = Math.round(performance.now() - started)
          res.once('close', () => {
            clearTimeout(timer)
            inFlight.delete(req)
          })
          finish({ ok: true, response, stream: res }, true)
          return
        }
        if (mode === 'none' || mode === undefined || isRedirect || method === 'HEAD') {
          res.destroy()
          return finish(done())
        }
        if (mode === 'all' && Number.isFinite(declared) && declared > maxBytes) {
          res.destroy()
          return finish(fail('too-large', `the body is declared as ${declared} bytes (doctor reads at most ${maxBytes})`))
        }
        const peek = typeof mode === 'object' ? mode.peek : null
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => {
          received += chunk.length
          chunks.push(chunk)
          if (peek !== null && received >= peek) {
            response.truncated = true
            res.destroy()
            finish(done(Buffer.concat(chunks).subarray(0, peek)))
          } else if (peek === null && received > maxBytes) {
            res.destroy()
            finish(fail('too-large', `the body goes on past ${maxBytes} bytes (doctor stopped reading there)`))
          }
        })
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          if (fetchOptions.decode && peek === null) {
            const decoded = decodeBody(body, response.headers['content-encoding'], maxBytes)
            if (!Buffer.isBuffer(decoded)) return finish(fail(decoded.kind, decoded.message))
            return finish(done(decoded))
          }
          finish(done(body))
        })
        res.on('error', (error) => {
          if (received > 0 && error.message === 'aborted') {
            const expected = Number.isFinite(declared) ? ` of the ${declared} declared` : ''
            return finish(fail('reset', `the connection closed after ${received}${expected} bytes`, 'ECONNRESET'))
          }
          finish(fail(...classifyNetworkError(error, url)))
        })

        function done(body: Buffer | null = null): Attempt {
          response.body = body
          response.elapsedMs = Math.round(performance.now() - started)
          return { ok: true, response }
        }
      })
      req.end()
    })

  const run = async (url: string, fetchOptions: FetchOptions, mode: Mode, stopAtRedirect: boolean): Promise<Attempt> => {
    let target: URL
    try {
      target = new URL(url)
    } catch {
      return { ok: false, failure: { url, kind: 'bad-url', code: null, message: `not an absolute URL: ${url}`, bytesReceived: 0 } }
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      return { ok: false, failure: { url, kind: 'bad-url', code: null, message: `not an http(s) URL: ${url}`, bytesReceived: 0 } }
    }
    const known = bypassed.get(target.origin) ?? null
    const first = await attempt(target, fetchOptions, mode, stopAtRedirect, known)
    if (first.ok || known !== null || first.failure.kind !== 'tls' || target.protocol !== 'https:') return first
    const code = first.failure.code ?? 'TLS'
    const second = await attempt(target, fetchOptions, mode, stopAtRedirect, code)
    if (second.ok) bypassed.set(target.origin, code)
    return second
  }

  return {
    deadline: options.deadline,
    async fetch(url, fetchOptions = {}) {
      const result = await run(url, fetchOptions, fetchOptions.body ?? 'none', false)
      return result.ok ? { ok: true, response: result.response } : result
    },
    async follow(url, fetchOptions = {}) {
      const hops: RedirectHop[] = []
      const problems: RedirectProblem[] = []
      const visited = new Set([url])
      let current = url
      for (;;) {
        const attempted = await run(current, fetchOptions, fetchOptions.body ?? 'none', true)
        const result: FetchResult = attempted.ok ? { ok: true, response: attempted.response } : attempted
        if (!result.ok || !REDIRECT_STATUSES.has(result.response.status) || result.response.headers['location'] === undefined) {
          return { url, finalUrl: current, hops, problems, result }
        }
        let next: URL
        try {
          next = new URL(result.response.headers['location'], current)
        } catch {
          problems.push('bad-location')
          return { url, finalUrl: current, hops, problems, result }
        }
        hops.push({ url: current, status: result.response.status, location: next.href })
        const stop = (problem: RedirectProblem): FollowedFetch => {
          problems.push(problem)
          return { url, finalUrl: current, hops, problems, result }
        }
        if (next.protocol !== 'https:' && next.protocol !== 'http:') return stop('bad-location')
        if (current.startsWith('https:') && next.protocol === 'http:' && !problems.includes('downgrade')) problems.push('downgrade')
        if (visited.has(next.href)) return stop('loop')
        if (hops.length > DOCTOR_LIMITS.redirects) return stop('too-many')
        visited.add(next.href)
        current = next.href
      }
    },
    async stream(url, headers) {
      const result = await run(url, { headers }, 'stream', false)
      if (!result.ok) return result
      if (!result.stream) return { ok: false, failure: { url, kind: 'protocol', code: null, message: `answered ${result.response.status} without a body`, bytesReceived: 0 } }
      return { ok: true, streamed: { response: result.response, body: result.stream } }
    },
    close() {
      closed = true
      for (const req of inFlight) req.destroy()
      inFlight.clear()
      strictAgent.destroy()
      bypassAgent.destroy()
      httpAgent.destroy()
    },
  }
}

function flattenHeaders(headers: NodeJS.Dict<string[]>): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, values] of Object.entries(headers)) {
    if (values && name !== 'set-cookie') flat[name] = values.join(', ')
  }
  return flat
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}
