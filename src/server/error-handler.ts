import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { AirstripError, ERROR_CODES, type ErrorCode } from '../errors.ts'

/**
 * The one place where error codes become HTTP statuses. A code missing from this table is a 500:
 * logged in full, answered with a generic message.
 */
export const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  'not-a-zip': 422,
  'archive-corrupt': 422,
  'unsafe-entry-name': 422,
  'no-app-bundle': 422,
  'no-info-plist': 422,
  'invalid-info-plist': 422,
  'entry-too-large': 422,
  'too-many-entries': 422,
  'invalid-plist': 422,
  'invalid-profile': 422,
  'invalid-png': 422,
  'upload-too-large': 413,
  'upload-aborted': 400,
  // 507 Insufficient Storage (RFC 4918): the one 5xx whose message is sent (see describe) — the uploader needs to know why.
  'insufficient-storage': 507,
  'missing-file': 400,
  'bad-request': 400,
  'release-notes-too-long': 413,
  'invalid-release-notes': 422,
  'unsupported-media-type': 415,
  'idempotency-key-invalid': 400,
  'idempotency-key-reused': 422,
  'idempotency-key-in-progress': 409,
  unauthorized: 401,
  'build-not-found': 404,
  'app-not-found': 404,
  'not-found': 404,
  'token-invalid': 403,
  'token-expired': 410,
  'remote-read-failed': 502,
  'remote-read-limit': 502,
  'usage-error': 400,
  'invalid-device-response': 422,
  'invalid-udid': 422,
  'device-signature-invalid': 422,
  'challenge-mismatch': 403,
  'enrollment-expired': 410,
  'enrollment-used': 409,
  'invite-not-found': 404,
  'device-not-found': 404,
  'app-store-connect-not-configured': 409,
  // Not a 5xx: those hide their message, and Apple's reason ("NOT_AUTHORIZED") is what the caller needs.
  'app-store-connect-failed': 424,
  'tester-not-found': 404,
  'tester-exists': 409,
  'group-not-found': 404,
  'group-exists': 409,
  'webhook-not-found': 404,
  'webhook-url-refused': 422,
  'delivery-not-found': 404,
  'channel-not-found': 404,
  'channel-not-empty': 409,
  'access-denied': 403,
  'access-revoked': 410,
  'grant-not-found': 404,
  forbidden: 403,
  'csrf-invalid': 403,
  'login-failed': 401,
  'too-many-attempts': 429,
  'setup-unavailable': 403,
  'user-not-found': 404,
  'user-exists': 409,
  'last-admin': 409,
}

/** Paths fetched by iOS's installer or a device get a short plain-text reason, not JSON. */
const PLAIN_TEXT_PATHS = /^\/(?:m|d|icon|enroll)\//

export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const { status, code, message } = describe(error)
  if (status >= 500) request.log.error({ err: error }, 'request failed')
  else request.log.info({ code, status }, message)
  if (reply.sent || reply.raw.destroyed) return
  reply.header('cache-control', 'no-store')
  if (PLAIN_TEXT_PATHS.test(request.url)) {
    void reply.code(status).type('text/plain; charset=utf-8').send(`${message}\n`)
  } else {
    void reply.code(status).send({ error: code, message })
  }
}

function describe(error: FastifyError | Error): { status: number; code: string; message: string } {
  if (error instanceof AirstripError) {
    const status = STATUS_BY_CODE[error.code] ?? 500
    return { status, code: error.code, message: status >= 500 && status !== 507 ? 'internal error' : error.message }
  }
  const fastifyError = error as FastifyError
  if (fastifyError.validation) return { status: 400, code: 'bad-request', message: error.message }
  const status = fastifyError.statusCode ?? 500
  if (status === 413 || fastifyError.code === 'FST_REQ_FILE_TOO_LARGE') return { status: 413, code: 'upload-too-large', message: ERROR_CODES['upload-too-large'] }
  if (status === 415) return { status, code: 'unsupported-media-type', message: ERROR_CODES['unsupported-media-type'] }
  if (status >= 400 && status < 500) return { status, code: 'bad-request', message: error.message }
  return { status: 500, code: 'internal', message: 'internal error' }
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  handleError(new AirstripError('not-found', `no route for ${request.method} ${request.url.split('?')[0]}`), request, reply)
}
