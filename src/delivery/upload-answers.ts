// What the server (or a proxy in front of it) answered, and what a failed exchange means for the
// user: the messages `airstrip upload` prints, naming the server's error code and the likely fix.
import { AirstripError } from '../errors.ts'

/** The server's 201 answer (see src/server/schemas/builds.ts BuildSummary), parsed. */
export interface UploadResult {
  status: number
  body: Record<string, unknown>
}

/** One HTTP answer as read by the upload client. */
export interface RawResponse {
  status: number
  statusText: string
  retryAfter: string | undefined
  body: string
}

const TLS_TRUST_ERRORS = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED'])

/** 201 → the result; 4xx → upload-refused with the server's code; anything else → upload-failed. */
export function interpretResponse(response: RawResponse, attempts: number, method: 'GET' | 'POST'): UploadResult {
  const body = parseJsonObject(response.body)
  if (response.status >= 200 && response.status < 300 && body && method === 'POST') return { status: response.status, body }
  const serverCode = typeof body?.['error'] === 'string' ? body['error'] : null
  const serverMessage = typeof body?.['message'] === 'string' ? body['message'] : null
  const answer = serverCode
    ? `${response.status} ${serverCode}${serverMessage ? `: ${serverMessage}` : ''}`
    : `${response.status} ${response.statusText || 'without an Airstrip error body'}${body || response.body.trim() === '' ? '' : ' (not JSON: a proxy in front of Airstrip?)'}`
  const details = { status: response.status, error: serverCode, message: serverMessage, body: body ?? response.body.slice(0, 2000) }
  if (response.status >= 200 && response.status < 300) throw new AirstripError('upload-failed', `the server answered ${response.status} without a JSON build`, { details })
  if (response.status >= 400 && response.status < 500) {
    throw new AirstripError('upload-refused', `the server refused the upload (${answer})${REFUSAL_HINTS[response.status] ?? ''}`, { details })
  }
  const tries = attempts > 1 ? ` after ${attempts} attempts` : ''
  throw new AirstripError('upload-failed', `the server answered ${answer}${tries}`, { details })
}

const REFUSAL_HINTS: Record<number, string> = {
  401: '. Check --token / AIRSTRIP_TOKEN; create a token with "airstrip token create --name ci" on the server.',
  404: '. Is --server the public URL of an Airstrip server (with its path prefix, if any)?',
  413: '. Raise the server\'s --max-upload-bytes (and any proxy body limit, e.g. nginx client_max_body_size).',
  422: '. The server could not use this file as an .ipa.',
}

export function describeNetworkError(error: unknown, url: URL, attempts: number): string {
  const code = errorCode(error)
  const where = url.host
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : ''
  if (TLS_TRUST_ERRORS.has(code)) {
    return `the certificate of ${where} is not trusted (${code}): pass its CA with --ca-file <pem> or NODE_EXTRA_CA_CERTS`
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the certificate of ${where} is for another host name (${code}): use the server's public URL`
  if (code === 'CERT_HAS_EXPIRED') return `the certificate of ${where} has expired`
  if (code === 'ECONNREFUSED') return `cannot connect to ${where}: connection refused${tries}`
  if (code === 'ENOTFOUND') return `cannot resolve ${url.hostname}`
  if (code === 'ECONNRESET' || code === 'EPIPE') return `the connection to ${where} was reset${tries}`
  if (code === 'ETIMEDOUT') return `the connection to ${where} timed out${tries}`
  const message = error instanceof Error ? error.message : String(error)
  return `${message}${code ? ` (${code})` : ''}${tries}`
}

export function errorCode(error: unknown): string {
  return error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : ''
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** Retry-After in seconds or as an HTTP date; 0 when absent or unreadable. */
export function retryAfterToMs(value: string | undefined): number {
  if (!value) return 0
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now())
}
