import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { resolveBundleId } from '../../notify/app-ref.ts'
import { parseReleaseNotes } from '../../builds/release-notes-edit.ts'
import type { GrantRecord } from '../../store/access.ts'
import type { ChannelRecord } from '../../store/channels.ts'
import { requireApiToken, tokenAppCheck } from '../api-auth.ts'
import { ErrorBody, IdParams } from '../schemas/builds.ts'
import {
  AppAccess, AppAccessBody, AppAnalytics, AppRefParams, BuildAnalytics, BuildChannel, BuildPatchBody, Channel, ChannelList, ChannelParams, ChannelPatchBody,
  CreatedInvite, GrantIdParams, InviteBody, InviteList, RetentionBody, RetentionReport, Revoked, TesterParams,
} from '../schemas/channels.ts'

/**
 * Channels, access to install, install analytics and retention over the API (token auth). `:id` is
 * an app id or a bundle id (settings may precede the first upload); a token bound to one app reaches
 * only that app. Personal links are returned once, by the POST that creates them.
 */
export async function apiChannelsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const { access } = services
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

  /** The bundle id the path names, refused for a token bound to another app. */
  const bundleOf = async (request: FastifyRequest, ref: string): Promise<string> => {
    const bundleId = await resolveBundleId(services.meta, ref)
    tokenAppCheck(request)(bundleId)
    return bundleId
  }
  const channelView = async (channel: ChannelRecord) => {
    const [policy, appRecord] = await Promise.all([access.policyFor({ bundleId: channel.bundleId, channel: channel.name }), services.meta.getAppByBundleId(channel.bundleId)])
    return {
      ...channel,
      effectiveAccess: policy.mode,
      hasPassword: (await access.grants.passwordGrant({ bundleId: channel.bundleId, channel: channel.name })) !== null,
      pageUrl: appRecord ? `${services.urls.appPage(appRecord.id)}?channel=${channel.name}` : null,
    }
  }
  const appAccess = async (bundleId: string) => ({
    bundleId,
    access: await access.channels.getAppAccess(bundleId),
    hasPassword: (await access.grants.passwordGrant({ bundleId, channel: null })) !== null,
  })
  const grantView = ({ id, kind, channel, tester, createdAt, expiresAt, revokedAt }: GrantRecord) => ({ id, kind, channel, tester, createdAt, expiresAt, revokedAt })

  app.get('/api/v1/apps/:id/channels', { schema: { tags: ['channels'], params: AppRefParams, response: { 200: ChannelList, ...errors } } }, async (request) => {
    const bundleId = await bundleOf(request, request.params.id)
    const channels = await access.channels.listChannels(bundleId)
    return { app: await appAccess(bundleId), channels: await Promise.all(channels.map(channelView)) }
  })

  app.put('/api/v1/apps/:id/access', { schema: { tags: ['channels'], summary: "The app's own access (channels inherit it)", params: AppRefParams, body: AppAccessBody, response: { 200: AppAccess, ...errors } } }, async (request) => {
    const bundleId = await bundleOf(request, request.params.id)
    await access.setAppAccess(bundleId, request.body.access, request.body.password)
    return appAccess(bundleId)
  })

  app.get('/api/v1/apps/:id/channels/:channel', { schema: { tags: ['channels'], params: ChannelParams, response: { 200: Channel, ...errors } } }, async (request) => {
    const channel = await access.channels.getChannel(await bundleOf(request, request.params.id), request.params.channel)
    if (!channel) throw new AirstripError('channel-not-found')
    return channelView(channel)
  })

  app.patch(
    '/api/v1/apps/:id/channels/:channel',
    { schema: { tags: ['channels'], summary: 'Create or change a channel: access (with its password) and retention', params: ChannelParams, body: ChannelPatchBody, response: { 200: Channel, ...errors } } },
    async (request) => channelView(await access.updateChannel(await bundleOf(request, request.params.id), request.params.channel, request.body)),
  )

  app.delete('/api/v1/apps/:id/channels/:channel', { schema: { tags: ['channels'], summary: 'Delete an empty channel', params: ChannelParams, response: { 204: Type.Null(), 409: ErrorBody, ...errors } } }, async (request, reply) => {
    if (!(await access.channels.deleteChannel(await bundleOf(request, request.params.id), request.params.channel))) throw new AirstripError('channel-not-found')
    return reply.code(204).send(null)
  })

  app.get('/api/v1/apps/:id/invites', { schema: { tags: ['access'], params: AppRefParams, response: { 200: InviteList, ...errors } } }, async (request) => ({
    invites: (await access.grants.listGrants({ bundleId: await bundleOf(request, request.params.id), kind: 'invite' })).map(grantView),
  }))

  app.post(
    '/api/v1/apps/:id/invites',
    { schema: { tags: ['access'], summary: "A tester's personal link to an invite-only app or channel (shown once)", params: AppRefParams, body: InviteBody, response: { 201: CreatedInvite, ...errors } } },
    async (request, reply) => {
      const bundleId = await bundleOf(request, request.params.id)
      const expiresAt = request.body.expiresAt ?? null
      if (expiresAt !== null && Number.isNaN(Date.parse(expiresAt))) throw new AirstripError('bad-request', 'expiresAt is not a date')
      const { grant, url } = await access.invite(bundleId, request.body.channel ?? null, request.body.tester, { expiresAt })
      return reply.code(201).header('cache-control', 'no-store').send({ ...grantView(grant), url })
    },
  )

  app.delete('/api/v1/invites/:id', { schema: { tags: ['access'], summary: 'Revoke one personal link: it and every link minted under it stop at once', params: GrantIdParams, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    const grant = await access.grants.getGrant(request.params.id)
    if (!grant || grant.kind !== 'invite') throw new AirstripError('grant-not-found')
    tokenAppCheck(request)(grant.bundleId)
    if (!(await access.revokeGrant(grant.id))) throw new AirstripError('grant-not-found', 'this invite was already revoked')
    return reply.code(204).send(null)
  })

  app.delete('/api/v1/apps/:id/testers/:tester/invites', { schema: { tags: ['access'], summary: "Revoke a tester's every personal link to the app", params: TesterParams, response: { 200: Revoked, ...errors } } }, async (request) => ({
    revoked: await access.revokeTester(await bundleOf(request, request.params.id), request.params.tester),
  }))

  app.patch('/api/v1/builds/:id', { schema: { tags: ['builds'], summary: 'Mark a build "keep" (retention never deletes it), move it to another channel, or replace its release notes', params: IdParams, body: BuildPatchBody, response: { 200: BuildChannel, 413: ErrorBody, 422: ErrorBody, ...errors } } }, async (request) => {
    const found = await services.meta.getBuild(request.params.id)
    if (!found) throw new AirstripError('build-not-found')
    tokenAppCheck(request)(found.bundleId)
    // Checked before any change: refused notes leave the build as it was.
    const notes = request.body.releaseNotes === undefined ? undefined : parseReleaseNotes(request.body.releaseNotes)
    let build = found
    if (request.body.channel !== undefined) build = (await access.channels.moveBuild(build.id, request.body.channel)) ?? build
    if (request.body.keep !== undefined) build = (await access.channels.setBuildKeep(build.id, request.body.keep)) ?? build
    if (notes !== undefined) build = (await services.meta.updateReleaseNotes(build.id, notes)) ?? build
    return { id: build.id, channel: build.channel, keep: build.keep, ...(notes === undefined ? {} : { releaseNotes: build.notes }) }
  })

  app.get('/api/v1/builds/:id/analytics', { schema: { tags: ['analytics'], params: IdParams, response: { 200: BuildAnalytics, ...errors } } }, async (request) => {
    const build = await services.meta.getBuild(request.params.id)
    if (!build) throw new AirstripError('build-not-found')
    tokenAppCheck(request)(build.bundleId)
    return { buildId: build.id, ...(await services.analytics.store.buildCounts(build.id)) }
  })

  app.get('/api/v1/apps/:id/analytics', { schema: { tags: ['analytics'], params: AppRefParams, response: { 200: AppAnalytics, ...errors } } }, async (request) => {
    const bundleId = await bundleOf(request, request.params.id)
    return { bundleId, ...(await services.analytics.store.appCounts(bundleId)) }
  })

  app.post('/api/v1/retention/run', { schema: { tags: ['retention'], summary: "Apply channels' retention rules now (dryRun: only report)", body: RetentionBody, response: { 200: RetentionReport, ...errors } } }, async (request) => {
    const bundleId = request.body.app === undefined ? undefined : await bundleOf(request, request.body.app)
    if (bundleId === undefined) {
      try {
        tokenAppCheck(request)('*')
      } catch {
        throw new AirstripError('forbidden', 'this API token is bound to one app: name it ("app")')
      }
    }
    return services.runRetention({ dryRun: request.body.dryRun ?? false, bundleId })
  })
}
