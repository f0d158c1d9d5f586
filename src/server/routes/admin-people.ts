import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { adminBase, timeAgo } from '../../web/admin-views.ts'
import { formFlag, formText } from '../admin-forms.ts'
import { requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

const MANAGE = { preHandler: requirePermission('manage') }

/** Testers and groups (who hears about builds), devices and personal enrolment links. */
export async function adminPeopleRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const base = adminBase(services)
  const store = services.notifications.store
  const devices = services.devices.store
  const back = (path: string) => `${base}${path}`

  app.get('/admin/testers', async (request, reply) => {
    const [testers, groups] = await Promise.all([store.listTesters(), store.listGroups()])
    const groupNames = new Map(groups.map((g) => [g.id, g.name]))
    const testerNames = new Map(testers.map((t) => [t.id, t.name]))
    return sendAdminPage(reply, 'testers', {
      layout: pageLayout(services, request, 'Testers', 'testers'),
      testers: testers.map((t) => ({ ...t, groups: t.groupIds.map((id) => groupNames.get(id) ?? id), deleteUrl: back(`/testers/${t.id}/delete`) })),
      groups: groups.map((g) => ({
        ...g,
        members: g.testerIds.map((id) => ({ id, name: testerNames.get(id) ?? id })),
        others: testers.filter((t) => !g.testerIds.includes(t.id)).map((t) => ({ id: t.id, name: t.name })),
        memberUrl: back(`/groups/${g.id}/members`),
        deleteUrl: back(`/groups/${g.id}/delete`),
      })),
      testerAction: back('/testers'),
      groupAction: back('/groups'),
    })
  })

  app.post('/admin/testers', MANAGE, async (request, reply) => {
    await store.createTester({ name: formText(request.body, 'name', { required: true }), email: formText(request.body, 'email', { max: 320, required: true }), phone: formText(request.body, 'phone', { max: 40 }) || null })
    return reply.redirect(back('/testers'), 303)
  })

  app.post<{ Params: { id: string } }>('/admin/testers/:id/delete', MANAGE, async (request, reply) => {
    if (!(await store.deleteTester(request.params.id))) throw new AirstripError('tester-not-found')
    return reply.redirect(back('/testers'), 303)
  })

  app.post('/admin/groups', MANAGE, async (request, reply) => {
    await store.createGroup(formText(request.body, 'name', { required: true }))
    return reply.redirect(back('/testers'), 303)
  })

  app.post<{ Params: { id: string } }>('/admin/groups/:id/members', MANAGE, async (request, reply) => {
    await store.setGroupMember(request.params.id, formText(request.body, 'testerId', { required: true }), formFlag(request.body, 'member'))
    return reply.redirect(back('/testers'), 303)
  })

  app.post<{ Params: { id: string } }>('/admin/groups/:id/delete', MANAGE, async (request, reply) => {
    if (!(await store.deleteGroup(request.params.id))) throw new AirstripError('group-not-found')
    return reply.redirect(back('/testers'), 303)
  })

  app.get('/admin/devices', async (request, reply) => {
    const [list, invites] = await Promise.all([devices.listDevices(), devices.listInvites()])
    return sendAdminPage(reply, 'devices', {
      layout: pageLayout(services, request, 'Devices', 'devices'),
      devices: list.map((d) => ({
        ...d,
        model: d.modelName ?? d.product ?? d.family,
        seen: timeAgo(services, d.lastSeenAt),
        updateUrl: back(`/devices/${d.id}`),
        deleteUrl: back(`/devices/${d.id}/delete`),
      })),
      invites: invites.map((i) => ({ ...i, created: timeAgo(services, i.createdAt), used: i.lastUsedAt ? timeAgo(services, i.lastUsedAt) : 'never', deleteUrl: back(`/invites/${i.id}/delete`) })),
      enrollUrl: services.devices.urls.page(),
      inviteAction: back('/invites'),
    })
  })

  app.post<{ Params: { id: string } }>('/admin/devices/:id', MANAGE, async (request, reply) => {
    const name = formText(request.body, 'name', { max: 200 })
    const tester = formText(request.body, 'tester', { max: 200 })
    const updated = await devices.updateDevice(request.params.id, { customName: name || null, tester: tester || null })
    if (!updated) throw new AirstripError('device-not-found')
    return reply.redirect(back('/devices'), 303)
  })

  app.post<{ Params: { id: string } }>('/admin/devices/:id/delete', MANAGE, async (request, reply) => {
    if (!(await devices.deleteDevice(request.params.id))) throw new AirstripError('device-not-found')
    return reply.redirect(back('/devices'), 303)
  })

  app.post('/admin/invites', MANAGE, async (request, reply) => {
    const { invite, url } = await services.devices.createInvite(formText(request.body, 'tester', { required: true }))
    return sendAdminPage(reply, 'secret-shown', {
      layout: pageLayout(services, request, 'Enrolment link', 'devices'),
      heading: `Enrolment link for ${invite.tester}`,
      explain: 'Send this personal link to the tester: opened on their iPhone or iPad, it registers the device under their name. It is shown only once; delete it on the devices page to stop it working.',
      secret: url,
      back: back('/devices'),
      backLabel: 'Back to devices',
    }, 201)
  })

  app.post<{ Params: { id: string } }>('/admin/invites/:id/delete', MANAGE, async (request, reply) => {
    if (!(await devices.deleteInvite(request.params.id))) throw new AirstripError('invite-not-found')
    return reply.redirect(back('/devices'), 303)
  })
}
