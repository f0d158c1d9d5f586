import { DOCTOR_LIMITS } from './limits.ts'
import type { FailureKind } from './http-fetch.ts'

/** A request ran out of time (its own limit or the run's); streamed bodies fail with it too. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError'
}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH)/

/** Turns a Node network error into what doctor reports: a kind for the checks, a sentence for people. */
export function classifyNetworkError(error: Error, url: URL): [FailureKind, string, string | null] {
  const code = (error as NodeJS.ErrnoException).code ?? null
  const where = `${url.hostname}${url.port ? `:${url.port}` : ''}`
  if (error instanceof RequestTimeoutError) return ['timeout', error.message, 'ETIMEDOUT']
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NODATA') return ['dns', `the host name "${url.hostname}" does not resolve (${code})`, code]
  if (code === 'ECONNREFUSED') return ['refused', `${where} refused the connection`, code]
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return ['network', `${where} is not reachable (${code})`, code]
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return ['reset', `${where} closed the connection (${code})`, code]
  if (code === 'HPE_HEADER_OVERFLOW') return ['headers-too-large', `the response headers are larger than ${DOCTOR_LIMITS.headerBytes / 1024} KiB`, code]
  if (code?.startsWith('HPE_')) return ['protocol', `the answer is not valid HTTP (${code}: ${error.message})`, code]
  if (code && TLS_ERROR.test(code)) return ['tls', `TLS with ${where} failed: ${error.message} (${code})`, code]
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1]
  if (code === 'EPROTO' || openssl) return ['tls', `TLS with ${where} failed: ${openssl ?? error.message}`, code]
  return ['other', `${error.message}${code ? ` (${code})` : ''}`, code]
}
