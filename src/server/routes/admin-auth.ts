import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { PASSWORD_MIN_LENGTH } from '../../accounts/password.ts'
import { AirstripError, isAirstripError } from '../../errors.ts'
import { STATUS_BY_CODE } from '../error-handler.ts'
import { adminBase } from '../../web/admin-views.ts'
import { formText } from '../admin-forms.ts'
import { activeSession, checkFormToken, clearSessionCookie, isSafeNext, issueFormToken, optionalSession, setSessionCookie } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

const PUBLIC = { config: { adminPublic: true } }

/**
 * Sign-in, first-run setup, sign-out and the user's own password. Login and setup answer a
 * refusal with the form again (and the reason), with the refusal's status.
 */
export async function adminAuthRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const base = adminBase(services)
  const { accounts } = services

  const loginPage = async (request: FastifyRequest, reply: FastifyReply, input: { email: string; next: string; error: string | null }, status = 200) =>
    sendAdminPage(reply, 'login', {
      layout: pageLayout(services, request, 'Sign in'),
      formToken: issueFormToken(request, reply, services),
      setupOpen: (await accounts.pendingSetupToken()) !== null,
      ...input,
    }, status)

  app.get<{ Querystring: { next?: string } }>('/admin/login', PUBLIC, async (request, reply) => {
    if (await optionalSession(request, services)) return reply.redirect(base, 303)
    // A fresh install (no account at all) starts with setup; once anyone exists, the login page says how to finish it.
    if ((await accounts.pendingSetupToken()) && (await accounts.store.listUsers()).length === 0) return reply.redirect(`${base}/setup`, 303)
    const next = typeof request.query.next === 'string' && isSafeNext(request.query.next) ? request.query.next : ''
    return loginPage(request, reply, { email: '', next, error: null })
  })

  app.post('/admin/login', PUBLIC, async (request, reply) => {
    checkFormToken(request, services, formText(request.body, '_form'))
    const email = formText(request.body, 'email', { max: 320 })
    const nextField = formText(request.body, 'next', { max: 500 })
    const next = isSafeNext(nextField) ? nextField : ''
    try {
      const session = await accounts.login({ email, password: formText(request.body, 'password', { max: 1024, trim: false }), clientAddress: request.ip })
      setSessionCookie(reply, services, session.id)
      request.log.info({ user: session.user.id }, 'admin sign-in')
      return reply.redirect(next ? `${services.urls.basePath}${next}` : base, 303)
    } catch (error) {
      if (!isAirstripError(error, 'login-failed') && !isAirstripError(error, 'too-many-attempts')) throw error
      request.log.warn({ code: error.code, ip: request.ip }, 'admin sign-in refused')
      return loginPage(request, reply, { email, next, error: error.message }, STATUS_BY_CODE[error.code])
    }
  })

  const setupPage = (request: FastifyRequest, reply: FastifyReply, input: { token: string; name: string; email: string; error: string | null }, status = 200) =>
    sendAdminPage(reply, 'setup', { layout: pageLayout(services, request, 'Set up'), formToken: issueFormToken(request, reply, services), minLength: PASSWORD_MIN_LENGTH, ...input }, status)

  app.get<{ Querystring: { token?: string } }>('/admin/setup', PUBLIC, async (request, reply) => {
    if (!(await accounts.pendingSetupToken())) return reply.redirect(`${base}/login`, 303)
    const token = typeof request.query.token === 'string' ? request.query.token.slice(0, 100) : ''
    return setupPage(request, reply, { token, name: '', email: '', error: null })
  })

  app.post('/admin/setup', PUBLIC, async (request, reply) => {
    checkFormToken(request, services, formText(request.body, '_form'))
    const input = { token: formText(request.body, 'token', { max: 100 }), name: formText(request.body, 'name'), email: formText(request.body, 'email', { max: 320 }) }
    try {
      const session = await accounts.completeSetup(input.token, { ...input, password: formText(request.body, 'password', { max: 1024, trim: false }) })
      setSessionCookie(reply, services, session.id)
      request.log.info({ user: session.user.id }, 'first admin created')
      return reply.redirect(base, 303)
    } catch (error) {
      if (!(error instanceof AirstripError) || !STATUS_BY_CODE[error.code] || STATUS_BY_CODE[error.code]! >= 500) throw error
      return setupPage(request, reply, { ...input, error: error.message }, STATUS_BY_CODE[error.code])
    }
  })

  app.post('/admin/logout', async (request, reply) => {
    await accounts.logout(activeSession(request).id)
    clearSessionCookie(reply, services)
    return reply.redirect(`${base}/login`, 303)
  })

  app.get('/admin/account', async (request, reply) => {
    return sendAdminPage(reply, 'account', { layout: pageLayout(services, request, 'Your account'), minLength: PASSWORD_MIN_LENGTH, changed: false })
  })

  app.post('/admin/account/password', async (request, reply) => {
    const current = formText(request.body, 'current', { max: 1024, trim: false })
    const next = formText(request.body, 'password', { max: 1024, trim: false })
    if (next !== formText(request.body, 'confirm', { max: 1024, trim: false })) throw new AirstripError('bad-request', 'the two new passwords differ')
    await accounts.changePassword(activeSession(request), current, next)
    return sendAdminPage(reply, 'account', { layout: pageLayout(services, request, 'Your account'), minLength: PASSWORD_MIN_LENGTH, changed: true })
  })
}
