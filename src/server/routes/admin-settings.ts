import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { PASSWORD_MIN_LENGTH } from '../../accounts/password.ts'
import { ROLE_LABELS, ROLES } from '../../accounts/roles.ts'
import { describeConfig } from '../../config.ts'
import { AirstripError } from '../../errors.ts'
import { adminBase, timeAgo } from '../../web/admin-views.ts'
import { formChoice, formText } from '../admin-forms.ts'
import { activeSession, requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

const ADMINISTER = { preHandler: requirePermission('administer') }

/**
 * Settings: the server's configuration (read-only here: it comes from flags and AIRSTRIP_*
 * variables, see `airstrip serve --help`) and, for admins, user accounts.
 */
export async function adminSettingsRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const base = adminBase(services)
  const { accounts } = services

  app.get('/admin/settings', async (request, reply) => {
    const me = activeSession(request).user
    const users = await accounts.store.listUsers()
    return sendAdminPage(reply, 'settings', {
      layout: pageLayout(services, request, 'Settings', 'settings'),
      config: describeConfig(services.config),
      users: users.map((u) => ({
        ...u,
        isMe: u.id === me.id,
        lastLogin: u.lastLoginAt ? timeAgo(services, u.lastLoginAt) : 'never',
        updateUrl: `${base}/users/${u.id}`,
        passwordUrl: `${base}/users/${u.id}/password`,
        deleteUrl: `${base}/users/${u.id}/delete`,
      })),
      roles: ROLES.map((role) => ({ role, label: ROLE_LABELS[role] })),
      minLength: PASSWORD_MIN_LENGTH,
      userAction: `${base}/users`,
    })
  })

  app.post('/admin/users', ADMINISTER, async (request, reply) => {
    const user = await accounts.createUser({
      email: formText(request.body, 'email', { max: 320, required: true }),
      name: formText(request.body, 'name'),
      role: formChoice(request.body, 'role', ROLES),
      password: formText(request.body, 'password', { max: 1024, trim: false, required: true }),
    })
    request.log.info({ user: user.id, role: user.role, by: activeSession(request).user.id }, 'user created')
    return reply.redirect(`${base}/settings`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/users/:id', ADMINISTER, async (request, reply) => {
    const updated = await accounts.store.updateUser(request.params.id, { role: formChoice(request.body, 'role', ROLES) })
    if (!updated) throw new AirstripError('user-not-found')
    request.log.info({ user: updated.id, role: updated.role, by: activeSession(request).user.id }, 'user role changed')
    return reply.redirect(`${base}/settings`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/users/:id/password', ADMINISTER, async (request, reply) => {
    await accounts.setPassword(request.params.id, formText(request.body, 'password', { max: 1024, trim: false, required: true }))
    return reply.redirect(`${base}/settings`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/users/:id/delete', ADMINISTER, async (request, reply) => {
    if (request.params.id === activeSession(request).user.id) throw new AirstripError('bad-request', 'you cannot delete your own account while signed in with it')
    if (!(await accounts.store.deleteUser(request.params.id))) throw new AirstripError('user-not-found')
    return reply.redirect(`${base}/settings`, 303)
  })
}
