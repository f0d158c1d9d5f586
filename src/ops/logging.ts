import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Config } from '../config.ts'

/**
 * Paths pino blanks out wherever they appear in a log line: credentials in headers, and any field
 * named like a secret one level down (e.g. `{ account: { keyPem } }`). URLs with signed tokens are
 * rewritten by the request serializer instead (`redactUrl`).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.password',
  '*.token',
  '*.apiToken',
  '*.secret',
  '*.keyPem',
  '*.privateKey',
  '*.accountKey',
]

/**
 * Fastify's logger settings: structured JSON lines (pino) at the configured level, every request's
 * lines carrying its `reqId`, signed tokens cut out of URLs, secrets redacted.
 */
export function loggerOptions(level: Config['logLevel'], redactUrl: (url: string) => string) {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactQuery(redactUrl(req.url)), remoteAddress: req.ip }),
    },
  }
}

/** Query parameters whose values are credentials (unsubscribe links, signed callbacks) lose their value. */
export function redactQuery(url: string): string {
  return url.replace(/([?&](?:token|access_token|t|key|secret|sig|signature|code|password)=)[^&#]*/gi, '$1<redacted>')
}

/**
 * Request ids: a proxy's `X-Request-Id` is kept when it looks like an id (so one request can be
 * followed from nginx's log into ours), otherwise a random UUID. Never trust the header's shape:
 * it is written into every log line of the request.
 */
export function requestId(request: IncomingMessage): string {
  const header = request.headers['x-request-id']
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{8,128}$/.test(header) ? header : randomUUID()
}
