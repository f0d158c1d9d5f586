import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { resolveBundleId } from '../../notify/app-ref.ts'
import { ErrorBody } from '../schemas/builds.ts'
import { AppNotifications, AppNotificationsPatch, AppRefParams, CreatedWebhook, IdParam, NewWebhookBody, Webhook } from '../schemas/notifications.ts'

/**
 * Per app: who is notified of uploads and when (`notifyOnUpload`), and its webhooks. `:id` is an
 * app id or a bundle id. Webhook secrets are returned once, by the POST that creates them.
 */
export async function apiAppNotificationsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const { store } = services.notifications
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
  const tags = ['notifications']

  app.get('/api/v1/apps/:id/notifications', { schema: { tags, params: AppRefParams, response: { 200: AppNotifications, ...errors } } }, async (request) =>
    store.getAppNotificationSettings(await resolveBundleId(services.meta, request.params.id)),
  )

  app.patch(
    '/api/v1/apps/:id/notifications',
    { schema: { tags, params: AppRefParams, body: AppNotificationsPatch, response: { 200: AppNotifications, ...errors } } },
    async (request) => store.updateAppNotificationSettings(await resolveBundleId(services.meta, request.params.id), request.body),
  )

  app.get('/api/v1/apps/:id/webhooks', { schema: { tags, params: AppRefParams, response: { 200: Type.Object({ webhooks: Type.Array(Webhook) }), ...errors } } }, async (request) => ({
    webhooks: await store.listWebhooks(await resolveBundleId(services.meta, request.params.id)),
  }))

  app.post(
    '/api/v1/apps/:id/webhooks',
    { schema: { tags, params: AppRefParams, body: NewWebhookBody, response: { 201: CreatedWebhook, 422: ErrorBody, ...errors } } },
    async (request, reply) => {
      const bundleId = await resolveBundleId(services.meta, request.params.id)
      const { webhook, secret } = await services.notifications.createWebhook({ bundleId, ...request.body })
      return reply.code(201).header('cache-control', 'no-store').send({ ...webhook, secret })
    },
  )

  app.get('/api/v1/webhooks/:id', { schema: { tags, params: IdParam, response: { 200: Webhook, ...errors } } }, async (request) => {
    const webhook = await store.getWebhook(request.params.id)
    if (!webhook) throw new AirstripError('webhook-not-found')
    const { secretBox: _sealed, ...record } = webhook
    return record
  })

  app.delete('/api/v1/webhooks/:id', { schema: { tags, params: IdParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    if (!(await store.deleteWebhook(request.params.id))) throw new AirstripError('webhook-not-found')
    return reply.code(204).send(null)
  })
}
