import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Per-response CSP nonce for the page's inline <style> and <script>. Made on first read, which
     * also puts it into this response's CSP: only pages pay for it (manifests, .ipa and JSON don't).
     */
    readonly cspNonce: string
  }
}

const CSP_BASE = "default-src 'none'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
const kNonce = Symbol('cspNonce')
const kReply = Symbol('cspReply')

type RequestSlots = { [kNonce]: string | null; [kReply]: FastifyReply | null; url: string }

/**
 * Safe defaults on every response: a strict CSP (no external requests at all; inline code only
 * with this response's nonce, for the responses that read one), no sniffing, no referrer (tokens
 * live in URLs), no framing.
 */
export function registerSecurityHeaders(app: FastifyInstance, options: { hsts: boolean }): void {
  app.decorateRequest(kNonce, null)
  app.decorateRequest(kReply, null)
  app.decorateRequest('cspNonce', {
    getter(this: FastifyRequest) {
      const slots = this as unknown as RequestSlots
      if (slots[kNonce] === null) {
        const nonce = randomBytes(16).toString('base64')
        slots[kNonce] = nonce
        if (!isApiDocs(slots.url)) slots[kReply]?.header('content-security-policy', `${CSP_BASE}; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'`)
      }
      return slots[kNonce]
    },
  })
  // Synchronous (no promise per request): this runs before every answer, manifests included.
  app.addHook('onRequest', (request, reply, done) => {
    ;(request as unknown as RequestSlots)[kReply] = reply
    // The API docs (swagger-ui) set their own CSP for their own static scripts.
    if (!isApiDocs(request.url)) reply.header('content-security-policy', CSP_BASE)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    if (options.hsts) reply.header('strict-transport-security', 'max-age=31536000')
    done()
  })
}

function isApiDocs(url: string): boolean {
  return url.startsWith('/api/docs')
}
