import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AirstripMetrics } from '../ops/metrics.ts'

/** Routes whose responses are install steps (patterns as registered in routes/install-assets.ts). */
const MANIFEST_ROUTE = '/m/:token/manifest.plist'
const IPA_ROUTE = '/d/:token/:file'
const UPLOAD_ROUTE = '/api/v1/builds'

/**
 * Counts every request by route pattern, status and latency, upload bytes, and installs (a
 * manifest served = started; an .ipa sent to its last byte, whole or as the final range of a
 * resumed download = completed). Measured on the response's 'close', which also fires for clients
 * that leave early (fastify's onResponse does not), so aborted downloads are seen too.
 * Registered on the root instance so it sees every route.
 */
export function registerRequestMetrics(app: FastifyInstance, metrics: AirstripMetrics): void {
  // Synchronous (no promise per request): this runs before every answer, manifests included.
  app.addHook('onRequest', (request, reply, done) => {
    const started = process.hrtime.bigint()
    const socket = request.raw.socket
    const bytesAtStart = socket.bytesRead
    reply.raw.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const route = request.routeOptions.url ?? 'unmatched'
      const completed = reply.raw.writableFinished
      metrics.observeRequest({ method: request.method, route, status: reply.statusCode }, seconds, !completed)
      if (route === UPLOAD_ROUTE && request.method === 'POST') metrics.addUploadBytes(Math.max(0, socket.bytesRead - bytesAtStart))
      if (!completed || request.method !== 'GET') return
      if (route === MANIFEST_ROUTE && reply.statusCode === 200) metrics.installStarted()
      if (route === IPA_ROUTE && servedLastByte(reply)) metrics.installCompleted()
    })
    done()
  })
}

/** A 200 with a body, or a 206 whose range ends at the file's last byte. */
function servedLastByte(reply: FastifyReply): boolean {
  if (reply.statusCode === 200) return true
  if (reply.statusCode !== 206) return false
  const match = /^bytes \d+-(\d+)\/(\d+)$/.exec(String(reply.getHeader('content-range') ?? ''))
  return match !== null && Number(match[1]) + 1 === Number(match[2])
}
