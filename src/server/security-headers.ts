import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** Per-response CSP nonce for the page's inline <style> and <script>. */
    cspNonce: string
  }
}

/**
 * Safe defaults on every response: a strict CSP (no external requests at all; inline code only with
 * this response's nonce), no sniffing, no referrer (tokens live in URLs), no framing.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: { hsts: boolean }): void {
  app.decorateRequest('cspNonce', '')
  app.addHook('onRequest', async (request, reply) => {
    request.cspNonce = randomBytes(16).toString('base64')
    // The API docs (swagger-ui) set their own CSP for their own static scripts.
    if (!request.url.startsWith('/api/docs')) reply.header(
      'content-security-policy',
      `default-src 'none'; img-src 'self' data:; style-src 'nonce-${request.cspNonce}'; script-src 'nonce-${request.cspNonce}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    )
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    if (options.hsts) reply.header('strict-transport-security', 'max-age=31536000')
  })
}
