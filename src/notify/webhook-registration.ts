import { AirstripError } from '../errors.ts'
import type { NotificationStore } from '../store/notifications.ts'
import { WEBHOOK_EVENTS, WEBHOOK_FORMATS, type WebhookEvent, type WebhookFormat, type WebhookRecord } from '../store/notification-records.ts'
import { checkWebhookUrl } from './network-policy.ts'
import type { SecretBox } from './secret-box.ts'
import { newWebhookSecret } from './webhook-signature.ts'

export interface WebhookRequest {
  bundleId: string
  url: string
  format?: WebhookFormat | undefined
  /** Default: every event. */
  events?: readonly string[] | undefined
}

/**
 * Registers a webhook (API and CLI alike): checks the URL (SSRF policy), the format and events,
 * makes a secret and stores it sealed. The secret is returned here once and never again.
 */
export async function registerWebhook(
  store: Pick<NotificationStore, 'createWebhook'>,
  secrets: SecretBox,
  request: WebhookRequest,
  policy: { allowPrivateNetworks: boolean },
): Promise<{ webhook: WebhookRecord; secret: string }> {
  const url = checkWebhookUrl(request.url.trim(), policy)
  const format = request.format ?? 'json'
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(format)) throw new AirstripError('bad-request', `format must be one of ${WEBHOOK_FORMATS.join(', ')}`)
  const events = request.events?.length ? [...new Set(request.events)] : [...WEBHOOK_EVENTS]
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e))
  if (unknown.length) throw new AirstripError('bad-request', `unknown event(s) ${unknown.join(', ')}; known: ${WEBHOOK_EVENTS.join(', ')}`)
  const secret = newWebhookSecret()
  const webhook = await store.createWebhook({ bundleId: request.bundleId, url, format, events: events as WebhookEvent[], sealSecret: (id) => secrets.seal(secret, id) })
  return { webhook, secret }
}
