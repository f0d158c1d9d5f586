import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { renderAdminPage, type AdminPageName } from '../../web/admin-render.ts'
import { adminBase, adminLayout, type AdminSection } from '../../web/admin-views.ts'
import { STATUS_BY_CODE } from '../error-handler.ts'
import { knownSession, requireSession } from '../session-auth.ts'
import { adminAppsRoutes } from './admin-apps.ts'
import { adminAuthRoutes } from './admin-auth.ts'
import { adminBuildNotesRoutes } from './admin-build-notes.ts'
import { adminChannelsRoutes } from './admin-channels.ts'
import { adminPeopleRoutes } from './admin-people.ts'
import { adminSettingsRoutes } from './admin-settings.ts'
import { adminTokensRoutes } from './admin-tokens.ts'
import { adminUploadRoutes } from './admin-upload.ts'
import { adminWebhooksRoutes } from './admin-webhooks.ts'

/** Largest urlencoded admin form (release notes are the longest field). */
const FORM_BODY_LIMIT = 256 * 1024

/**
 * The admin web UI under /admin: server-rendered pages (templates/admin), forms that work without
 * JavaScript, a session cookie and a CSRF token on every form (session-auth.ts). Each file here is
 * one area; this one sets up what they share: cookies, form parsing, HTML error pages, and a CSP
 * that also lets the upload page's script send its XMLHttpRequest to this origin.
 */
export async function adminRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  await app.register(cookie)
  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT })
  app.setErrorHandler((error: FastifyError | Error, request, reply) => sendAdminError(services, error, request, reply))
  app.addHook('onSend', async (_request, reply, payload) => {
    const csp = reply.getHeader('content-security-policy')
    if (typeof csp === 'string' && csp.includes("script-src 'nonce-")) reply.header('content-security-policy', `${csp}; connect-src 'self'`)
    reply.header('cache-control', 'no-store')
    return payload
  })
  app.addHook('preHandler', requireSession(services))
  for (const routes of [adminAuthRoutes, adminAppsRoutes, adminBuildNotesRoutes, adminChannelsRoutes, adminUploadRoutes, adminTokensRoutes, adminPeopleRoutes, adminWebhooksRoutes, adminSettingsRoutes]) {
    await app.register(routes, { services })
  }
}

/** Sends an admin page (HTML, never cached). */
export function sendAdminPage(reply: FastifyReply, name: AdminPageName, data: object, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(renderAdminPage(name, data))
}

/** The layout for a page of a signed-in (or, for login/setup, anonymous) request. */
export function pageLayout(services: Services, request: FastifyRequest, title: string, section: AdminSection = null) {
  return adminLayout(services, { nonce: request.cspNonce, title, session: knownSession(request), section })
}

const HEADINGS: Record<number, string> = { 400: 'That didn’t work', 401: 'Sign in again', 403: 'Not allowed', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 422: 'Not a usable build', 429: 'Slow down' }

/**
 * Errors in the admin UI: an HTML page with the reason (the upload script asks for JSON and gets
 * the API's `{ error, message }`). 5xx are logged and shown without details, as in the API.
 */
function sendAdminError(services: Services, error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const described = describe(error)
  if (described.status >= 500) request.log.error({ err: error }, 'admin request failed')
  else request.log.info({ code: described.code, status: described.status }, described.message)
  if (reply.sent || reply.raw.destroyed) return
  reply.header('cache-control', 'no-store')
  if (/\bapplication\/json\b/.test(request.headers.accept ?? '')) {
    void reply.code(described.status).send({ error: described.code, message: described.message })
    return
  }
  const view = {
    layout: pageLayout(services, request, HEADINGS[described.status] ?? 'Something went wrong'),
    heading: HEADINGS[described.status] ?? 'Something went wrong',
    message: described.message,
    code: described.code,
    status: described.status,
    back: described.status === 401 ? `${adminBase(services)}/login` : adminBase(services),
  }
  void sendAdminPage(reply, 'error', view, described.status)
}

function describe(error: FastifyError | Error): { status: number; code: string; message: string } {
  if (error instanceof AirstripError) {
    const status = STATUS_BY_CODE[error.code] ?? 500
    return { status, code: error.code, message: status >= 500 ? 'internal error' : error.message }
  }
  const fastifyError = error as FastifyError
  const status = fastifyError.validation ? 400 : (fastifyError.statusCode ?? 500)
  if (status === 413) return { status, code: 'upload-too-large', message: 'the form or file is larger than this server accepts' }
  if (status >= 400 && status < 500) return { status, code: 'bad-request', message: error.message }
  return { status: 500, code: 'internal', message: 'internal error' }
}
