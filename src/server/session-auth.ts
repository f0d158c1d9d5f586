import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import type { ActiveSession } from '../accounts/account-service.ts'
import { can, type Permission } from '../accounts/roles.ts'
import { isSecretShaped, newSecret, safeEqual, verifyCsrfToken } from '../accounts/secrets.ts'
import { AirstripError } from '../errors.ts'

/**
 * Sign-in for the admin UI: a server-side session named by a random id in an HttpOnly,
 * SameSite=Lax cookie (Secure, with the `__Host-` prefix, whenever the public URL is https), and
 * CSRF protection on every form: a synchronizer token derived from the session id for signed-in
 * forms; a double-submit cookie for the two forms before sign-in (login, first-run setup).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Admin routes reachable without a session (login, setup). */
    adminPublic?: boolean
    /** Admin routes whose handler checks the CSRF token itself (a multipart upload reads its fields in order). */
    adminCsrfInHandler?: boolean
  }
}

const sessions = new WeakMap<FastifyRequest, ActiveSession>()

function cookieNames(services: Services): { session: string; form: string; secure: boolean } {
  const secure = services.urls.isHttps
  // `__Host-` makes the browser refuse the cookie unless Secure, Path=/ and host-only: no subdomain can plant one.
  return secure ? { session: '__Host-airstrip-session', form: '__Host-airstrip-form', secure } : { session: 'airstrip-session', form: 'airstrip-form', secure }
}

export function setSessionCookie(reply: FastifyReply, services: Services, sessionId: string): void {
  const names = cookieNames(services)
  reply.setCookie(names.session, sessionId, { path: '/', httpOnly: true, secure: names.secure, sameSite: 'lax' })
}

export function clearSessionCookie(reply: FastifyReply, services: Services): void {
  const names = cookieNames(services)
  reply.clearCookie(names.session, { path: '/', httpOnly: true, secure: names.secure, sameSite: 'lax' })
}

/** The session of a request that passed `requireSession`. */
export function activeSession(request: FastifyRequest): ActiveSession {
  const active = sessions.get(request)
  if (!active) throw new AirstripError('unauthorized', 'sign in first')
  return active
}

/** The session already resolved for this request, if any (error pages: no database call there). */
export function knownSession(request: FastifyRequest): ActiveSession | null {
  return sessions.get(request) ?? null
}

/** The session of any admin request, if its cookie names a live one (login and setup pages ask). */
export async function optionalSession(request: FastifyRequest, services: Services): Promise<ActiveSession | null> {
  const cached = sessions.get(request)
  if (cached) return cached
  const active = await services.accounts.resume(request.cookies[cookieNames(services).session])
  if (active) sessions.set(request, active)
  return active
}

/**
 * preHandler of every admin route that is not public: no live session → the login page (GET) or
 * 401; then, for anything but GET/HEAD, the CSRF token (form field `_csrf` or header
 * `X-CSRF-Token`) must be this session's, else 403 `csrf-invalid`.
 */
export function requireSession(services: Services) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const config = request.routeOptions.config
    if (config.adminPublic) return
    const active = await optionalSession(request, services)
    if (!active) {
      if (request.method === 'GET' || request.method === 'HEAD') {
        const next = request.url.split('?')[0] ?? ''
        return void reply.redirect(`${services.urls.basePath}/admin/login${isSafeNext(next) ? `?next=${encodeURIComponent(next)}` : ''}`, 303)
      }
      throw new AirstripError('unauthorized', 'your session has ended; sign in again')
    }
    if (request.method !== 'GET' && request.method !== 'HEAD' && !config.adminCsrfInHandler) {
      checkCsrf(request, csrfFromBody(request.body) ?? request.headers['x-csrf-token'])
    }
  }
}

/** Throws `csrf-invalid` unless `submitted` is the CSRF token of the request's session. */
export function checkCsrf(request: FastifyRequest, submitted: unknown): void {
  if (!verifyCsrfToken(activeSession(request).id, submitted)) throw new AirstripError('csrf-invalid')
}

/** preHandler: 403 `forbidden` unless the signed-in user's role has `permission`. */
export function requirePermission(permission: Permission) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!can(activeSession(request).user.role, permission)) throw new AirstripError('forbidden', `your role (${activeSession(request).user.role}) cannot do this`)
  }
}

/** A path inside the admin UI to return to after sign-in (never another origin). */
export function isSafeNext(path: string): boolean {
  return /^\/admin(\/[A-Za-z0-9_-]+)*\/?$/.test(path) && !path.startsWith('/admin/login') && !path.startsWith('/admin/logout')
}

/** For the forms shown before sign-in: a random value in a cookie that the form must echo (double submit). */
export function issueFormToken(request: FastifyRequest, reply: FastifyReply, services: Services): string {
  const names = cookieNames(services)
  const existing = request.cookies[names.form]
  if (isSecretShaped(existing)) return existing
  const value = newSecret()
  reply.setCookie(names.form, value, { path: '/', httpOnly: true, secure: names.secure, sameSite: 'strict' })
  return value
}

/** Throws `csrf-invalid` unless the form echoes the cookie of `issueFormToken`. */
export function checkFormToken(request: FastifyRequest, services: Services, submitted: unknown): void {
  const cookie = request.cookies[cookieNames(services).form]
  if (!isSecretShaped(cookie) || typeof submitted !== 'string' || !safeEqual(cookie, submitted)) throw new AirstripError('csrf-invalid')
}

function csrfFromBody(body: unknown): unknown {
  return body && typeof body === 'object' && '_csrf' in body ? (body as { _csrf: unknown })._csrf : undefined
}
