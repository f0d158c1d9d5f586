import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS } from '../../store/notification-records.ts'
import { adminBase, timeAgo } from '../../web/admin-views.ts'
import { formChoice, formList, formText } from '../admin-forms.ts'
import { requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

const MANAGE = { preHandler: requirePermission('manage') }
const RECENT_DELIVERIES = 50

/** Webhooks per app (created with their secret shown once) and the delivery outbox, with retries. */
export async function adminWebhooksRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const base = adminBase(services)
  const { notifications } = services

  app.get('/admin/webhooks', async (request, reply) => {
    const [webhooks, apps, { deliveries }] = await Promise.all([notifications.store.listWebhooks(), services.meta.listApps(), notifications.store.listDeliveries({ limit: RECENT_DELIVERIES })])
    const appNames = new Map(apps.map((a) => [a.bundleId, a.name]))
    return sendAdminPage(reply, 'webhooks', {
      layout: pageLayout(services, request, 'Webhooks', 'webhooks'),
      webhooks: webhooks.map((w) => ({ ...w, app: appNames.get(w.bundleId) ?? w.bundleId, created: timeAgo(services, w.createdAt), deleteUrl: `${base}/webhooks/${w.id}/delete` })),
      deliveries: deliveries.map((d) => ({
        ...d,
        updated: timeAgo(services, d.updatedAt),
        retryUrl: d.status === 'failed' || d.status === 'cancelled' ? `${base}/deliveries/${d.id}/retry` : null,
      })),
      apps: apps.map((a) => ({ name: a.name, bundleId: a.bundleId })),
      formats: WEBHOOK_FORMATS,
      events: WEBHOOK_EVENTS,
      action: `${base}/webhooks`,
    })
  })

  app.post('/admin/webhooks', MANAGE, async (request, reply) => {
    const { webhook, secret } = await notifications.createWebhook({
      bundleId: formText(request.body, 'bundleId', { max: 255, required: true }),
      url: formText(request.body, 'url', { max: 2000, required: true }),
      format: formChoice(request.body, 'format', WEBHOOK_FORMATS),
      events: formList(request.body, 'events', 40),
    })
    return sendAdminPage(reply, 'secret-shown', {
      layout: pageLayout(services, request, 'Webhook created', 'webhooks'),
      heading: `Webhook for ${webhook.bundleId} created`,
      explain: `Events ${webhook.events.join(', ')} go to ${webhook.url}. This is its signing secret (X-Airstrip-Signature), shown only once.`,
      secret,
      back: `${base}/webhooks`,
      backLabel: 'Back to webhooks',
    }, 201)
  })

  app.post<{ Params: { id: string } }>('/admin/webhooks/:id/delete', MANAGE, async (request, reply) => {
    if (!(await notifications.store.deleteWebhook(request.params.id))) throw new AirstripError('webhook-not-found')
    return reply.redirect(`${base}/webhooks`, 303)
  })

  app.post<{ Params: { id: string } }>('/admin/deliveries/:id/retry', MANAGE, async (request, reply) => {
    if (!(await notifications.retryDelivery(request.params.id))) throw new AirstripError('delivery-not-found')
    return reply.redirect(`${base}/webhooks`, 303)
  })
}
