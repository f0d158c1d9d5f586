import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { adminBase, timeAgo } from '../../web/admin-views.ts'
import { API_TOKEN_SCOPES } from '../../store/records.ts'
import { formChoice, formText } from '../admin-forms.ts'
import { activeSession, requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

/** API tokens for CI: listed (never their values), created (shown once), revoked. */
export async function adminTokensRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { meta } = services
  const base = adminBase(services)

  app.get('/admin/tokens', async (request, reply) => {
    const [tokens, apps, users] = await Promise.all([meta.listApiTokens(), meta.listApps(), services.accounts.store.listUsers()])
    const userNames = new Map(users.map((u) => [u.id, u.name]))
    return sendAdminPage(reply, 'tokens', {
      layout: pageLayout(services, request, 'API tokens', 'tokens'),
      tokens: tokens.map((t) => ({
        ...t,
        scopeLabel: t.scope === 'upload' ? 'upload only' : 'full API',
        appLabel: t.bundleId ?? 'any app',
        created: timeAgo(services, t.createdAt),
        lastUsed: t.lastUsedAt ? timeAgo(services, t.lastUsedAt) : 'never',
        by: t.createdBy ? (userNames.get(t.createdBy) ?? 'a deleted user') : 'CLI',
        revokeUrl: `${base}/tokens/${t.id}/revoke`,
      })),
      apps: apps.map((a) => ({ name: a.name, bundleId: a.bundleId })),
      action: `${base}/tokens`,
    })
  })

  app.post('/admin/tokens', { preHandler: requirePermission('manage') }, async (request, reply) => {
    const name = formText(request.body, 'name', { required: true })
    const scope = formChoice(request.body, 'scope', API_TOKEN_SCOPES)
    const bundleId = formText(request.body, 'bundleId', { max: 255 }) || null
    if (bundleId && scope === 'full') throw new AirstripError('bad-request', 'a full-API token cannot be limited to one app; choose "upload only"')
    const created = await meta.createApiToken(name, { scope, bundleId, createdBy: activeSession(request).user.id })
    request.log.info({ token: created.id, scope, bundleId, user: activeSession(request).user.id }, 'API token created in the admin UI')
    return sendAdminPage(reply, 'secret-shown', {
      layout: pageLayout(services, request, 'Token created', 'tokens'),
      heading: `Token “${name}” created`,
      explain: `Copy it now: it is shown only once (only its hash is kept). Use it as "Authorization: Bearer <token>", or AIRSTRIP_TOKEN for airstrip upload. ${scope === 'upload' ? `It may only upload builds${bundleId ? ` of ${bundleId}` : ''}.` : 'It reaches the whole API.'}`,
      secret: created.token,
      back: `${base}/tokens`,
      backLabel: 'Back to tokens',
    }, 201)
  })

  app.post<{ Params: { id: string } }>('/admin/tokens/:id/revoke', { preHandler: requirePermission('manage') }, async (request, reply) => {
    if (!(await meta.revokeApiToken(request.params.id))) throw new AirstripError('not-found', 'no such token (already revoked?)')
    request.log.info({ token: request.params.id, user: activeSession(request).user.id }, 'API token revoked in the admin UI')
    return reply.redirect(`${base}/tokens`, 303)
  })
}
