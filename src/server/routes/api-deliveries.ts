import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { resolveBundleId } from '../../notify/app-ref.ts'
import { ErrorBody } from '../schemas/builds.ts'
import { Delivery, DeliveryList, DeliveryQuery, IdParam } from '../schemas/notifications.ts'

/** The outbox as CI and admins see it: every mail, text and webhook call with its status. */
export async function apiDeliveriesRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const { store } = services.notifications
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
  const tags = ['notifications']

  app.get('/api/v1/deliveries', { schema: { tags, querystring: DeliveryQuery, response: { 200: DeliveryList, ...errors } } }, async (request) => {
    const { status, channel, buildId, appId, limit, cursor } = request.query
    const bundleId = appId === undefined ? undefined : await resolveBundleId(services.meta, appId)
    return store.listDeliveries({ status, channel, subjectId: buildId, bundleId, limit: limit ?? 50, cursor })
  })

  app.get('/api/v1/deliveries/:id', { schema: { tags, params: IdParam, response: { 200: Delivery, ...errors } } }, async (request) => {
    const delivery = await store.getDelivery(request.params.id)
    if (!delivery) throw new AirstripError('delivery-not-found')
    return delivery
  })

  app.post(
    '/api/v1/deliveries/:id/retry',
    { schema: { tags, summary: 'send a failed or cancelled delivery again', params: IdParam, response: { 200: Delivery, ...errors } } },
    async (request) => {
      const delivery = await services.notifications.retryDelivery(request.params.id)
      if (!delivery) throw new AirstripError('delivery-not-found')
      return delivery
    },
  )
}
