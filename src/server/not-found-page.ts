import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import { layoutView, type NotFoundView } from '../web/page-views.ts'
import { renderPage } from '../web/render.ts'
import { handleNotFound } from './error-handler.ts'

/**
 * Paths machines fetch: the API keeps its JSON 404, and what iOS's installer fetches (manifests,
 * .ipa, icons) and ACME validation keep the short plain-text one (src/server/error-handler.ts).
 */
const MACHINE_PATHS = /^\/(?:api|m|d|icon|\.well-known)(?:[/?]|$)/

/**
 * The not-found handler: a browser that GETs an address nothing lives at (a mistyped /admin/…,
 * /i/…, /apps/…, /enroll/… or other page) gets the friendly HTML 404 page; everything else the
 * error handler's answer.
 */
export function createNotFoundHandler(services: Services): (request: FastifyRequest, reply: FastifyReply) => void {
  return (request, reply) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || MACHINE_PATHS.test(request.url)) {
      handleNotFound(request, reply)
      return
    }
    request.log.info({ code: 'not-found', status: 404 }, `no page at ${request.url.split('?')[0]}`)
    const view: NotFoundView = {
      layout: layoutView(services, request.cspNonce, 'Not found'),
      heading: 'This page isn’t here',
      message: 'Nothing lives at this address. Check the link for typos, or ask whoever sent it for a new one.',
    }
    void reply.code(404).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderPage('not-found', view))
  }
}
