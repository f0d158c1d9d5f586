import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { ACCESS_MODES, CHANNEL_ACCESS } from '../../access/access-policy.ts'
import { parseChannelName } from '../../access/channel-name.ts'
import { AirstripError } from '../../errors.ts'
import { sizeLabel } from '../../ota/install-labels.ts'
import { isId } from '../../store/new-id.ts'
import type { AppRecord } from '../../store/records.ts'
import { adminBuildRow } from '../../web/admin-build-views.ts'
import { CHANNEL_ACCESS_CHOICES, retentionLabel } from '../../web/admin-channel-views.ts'
import { adminBase } from '../../web/admin-views.ts'
import { formChoice, formFlag, formText } from '../admin-forms.ts'
import { requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

const MANAGE = { preHandler: requirePermission('manage') }
type AppParams = { Params: { id: string } }
type ChannelParams = { Params: { id: string; name: string } }

/**
 * Channels of an app and who may install: the app's and each channel's access mode (with its
 * password), retention rules (with a dry run), personal links, a build's "keep" mark and channel.
 * The decisions and checks live in src/channels and src/access; these routes only call them.
 */
export async function adminChannelsRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { access, meta } = services
  const base = adminBase(services)
  const appOr404 = async (id: string): Promise<AppRecord> => {
    const record = isId(id) ? await meta.getApp(id) : null
    if (!record) throw new AirstripError('app-not-found')
    return record
  }
  const appUrl = (record: AppRecord) => `${base}/apps/${record.id}`
  const password = (body: unknown) => formText(body, 'password', { max: 256, trim: false }) || undefined

  app.post<AppParams>('/admin/apps/:id/access', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    await access.setAppAccess(record.bundleId, formChoice(request.body, 'mode', ACCESS_MODES), password(request.body))
    return reply.redirect(appUrl(record), 303)
  })

  app.post<AppParams>('/admin/apps/:id/channels', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    const name = parseChannelName(formText(request.body, 'name', { max: 60, required: true }))
    await access.updateChannel(record.bundleId, name, {})
    return reply.redirect(`${appUrl(record)}/channels/${name}`, 303)
  })

  app.get<ChannelParams>('/admin/apps/:id/channels/:name', async (request, reply) => {
    const record = await appOr404(request.params.id)
    const channel = await access.channels.getChannel(record.bundleId, parseChannelName(request.params.name))
    if (!channel) throw new AirstripError('channel-not-found')
    const builds = await access.channels.listChannelBuilds(record.bundleId, channel.name, 100)
    const policy = await access.channels.effectivePolicy(record.bundleId, channel.name)
    return sendAdminPage(reply, 'channel', {
      layout: pageLayout(services, request, `${record.name} · ${channel.name}`, 'apps'),
      app: { name: record.name, url: appUrl(record) },
      channel: { ...channel, retentionLabel: retentionLabel(channel.retention), effective: policy.mode, inherited: policy.source.channel === null },
      builds: builds.map((b) => adminBuildRow(services, b)),
      choices: CHANNEL_ACCESS_CHOICES,
      action: `${appUrl(record)}/channels/${channel.name}`,
    })
  })

  app.post<ChannelParams>('/admin/apps/:id/channels/:name', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    const name = parseChannelName(request.params.name)
    await access.updateChannel(record.bundleId, name, {
      access: formChoice(request.body, 'access', CHANNEL_ACCESS),
      password: password(request.body),
      retention: { keepLast: optionalCount(request.body, 'keepLast', 10_000), maxAgeDays: optionalCount(request.body, 'maxAgeDays', 36_500) },
    })
    return reply.redirect(`${appUrl(record)}/channels/${name}`, 303)
  })

  app.post<ChannelParams>('/admin/apps/:id/channels/:name/delete', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    if (!(await access.channels.deleteChannel(record.bundleId, parseChannelName(request.params.name)))) throw new AirstripError('channel-not-found')
    return reply.redirect(appUrl(record), 303)
  })

  app.post<AppParams>('/admin/apps/:id/invites', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    const channelField = formText(request.body, 'channel', { max: 60 })
    const days = optionalCount(request.body, 'days', 3650)
    const { grant, url } = await access.invite(record.bundleId, channelField ? parseChannelName(channelField) : null, formText(request.body, 'tester', { required: true }), {
      expiresAt: days === null ? null : new Date(services.now().getTime() + days * 86_400_000).toISOString(),
    })
    return sendAdminPage(reply, 'secret-shown', {
      layout: pageLayout(services, request, 'Personal link', 'apps'),
      heading: `Personal link for ${grant.tester?.name ?? 'the tester'}`,
      explain: `Send it to ${grant.tester?.email ?? 'them'} only: it opens ${record.name}${grant.channel ? ` (${grant.channel})` : ''} for them alone, and stops working at once when you revoke it. It is shown only now.`,
      secret: url,
      back: appUrl(record),
      backLabel: `Back to ${record.name}`,
    }, 201)
  })

  app.post<{ Params: { id: string; grantId: string } }>('/admin/apps/:id/invites/:grantId/revoke', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    const grant = await access.grants.getGrant(request.params.grantId)
    if (!grant || grant.bundleId !== record.bundleId || !(await access.revokeGrant(grant.id))) throw new AirstripError('not-found', 'no such live personal link')
    return reply.redirect(appUrl(record), 303)
  })

  app.post<AppParams>('/admin/apps/:id/retention', MANAGE, async (request, reply) => {
    const record = await appOr404(request.params.id)
    const dryRun = !formFlag(request.body, 'apply')
    const report = await services.runRetention({ dryRun, bundleId: record.bundleId })
    return sendAdminPage(reply, 'retention', {
      layout: pageLayout(services, request, 'Retention', 'apps'),
      app: { name: record.name, url: appUrl(record) },
      report,
      freed: sizeLabel(report.freedBytes),
      channels: report.channels.map((c) => ({ ...c, rule: retentionLabel(c.policy), deleted: c.deleted.map((d) => ({ ...d, size: sizeLabel(d.size) })) })),
      applyAction: `${appUrl(record)}/retention`,
    })
  })

  app.post<AppParams>('/admin/builds/:id/keep', MANAGE, async (request, reply) => {
    const build = await access.channels.setBuildKeep(request.params.id, formFlag(request.body, 'keep'))
    if (!build) throw new AirstripError('build-not-found')
    return reply.redirect(`${base}/builds/${build.id}`, 303)
  })

  app.post<AppParams>('/admin/builds/:id/channel', MANAGE, async (request, reply) => {
    const build = await access.channels.moveBuild(request.params.id, parseChannelName(formText(request.body, 'channel', { max: 60, required: true })))
    if (!build) throw new AirstripError('build-not-found')
    return reply.redirect(`${base}/builds/${build.id}`, 303)
  })
}

/** An optional whole number from a form ("" → null), 1…max. */
function optionalCount(body: unknown, name: string, max: number): number | null {
  const text = formText(body, name, { max: 10 })
  if (text === '') return null
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1 || value > max) throw new AirstripError('bad-request', `"${name}" must be a whole number from 1 to ${max}, or empty`)
  return value
}
