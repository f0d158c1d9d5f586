import type { NotificationStore } from '../store/notifications.ts'
import type { ClaimedDelivery } from '../store/notification-records.ts'
import { DeliveryFailure } from './delivery-failure.ts'
import type { BuildCreatedData, WebhookEnvelope } from './event-payloads.ts'
import type { SmsSender, WebhookSender } from './http-senders.ts'
import type { PersonalLink } from './personal-link.ts'
import { buildReleaseEmail, qrCodePng } from './release-email.ts'
import type { SecretBox } from './secret-box.ts'
import { buildReleaseSms } from './sms-request.ts'
import type { EmailSender } from './smtp-sender.ts'
import { buildWebhookBody } from './webhook-body.ts'

export interface DispatchDeps {
  store: Pick<NotificationStore, 'getTester' | 'getWebhook'>
  secrets: SecretBox
  /** Null when no SMTP server is configured. */
  email: { sender: EmailSender; from: string } | null
  sms: SmsSender | null
  webhooks: WebhookSender
  /** The build's icon PNG, or null (no icon, or the build is gone). */
  loadIcon(buildId: string): Promise<Buffer | null>
  /** The tester's own link when the build's access is per tester, else null (the shared page link is used). */
  personalLink?(buildId: string, testerId: string): Promise<PersonalLink | null>
  /** Withdraws a personal link minted for a message that did not go out. */
  revokeGrant?(grantId: string): Promise<unknown>
}

/**
 * Sends one claimed delivery: renders the message for its channel from the event's frozen data
 * and hands it to the sender. Throws DeliveryFailure; the worker decides about retries. A tester
 * or webhook deleted since the event was recorded cancels the delivery.
 */
export async function dispatchDelivery(deps: DispatchDeps, delivery: ClaimedDelivery, signal: AbortSignal): Promise<void> {
  if (delivery.channel === 'webhook') {
    const webhook = delivery.webhookId ? await deps.store.getWebhook(delivery.webhookId) : null
    if (!webhook) throw new DeliveryFailure('the webhook was deleted', { cancelled: true })
    let secret: string
    try {
      secret = deps.secrets.open(webhook.secretBox, webhook.id)
    } catch (error) {
      throw new DeliveryFailure('the webhook secret cannot be decrypted (is notify-secrets.key the one it was created with?)', { permanent: true, cause: error })
    }
    const envelope: WebhookEnvelope = { id: delivery.event.id, type: delivery.event.type, createdAt: delivery.event.createdAt, data: delivery.event.payload }
    await deps.webhooks.send({ url: webhook.url, secret, event: delivery.event.type, deliveryId: delivery.id, body: buildWebhookBody(webhook.format, envelope) }, signal)
    return
  }

  if (delivery.event.type !== 'build.created') throw new DeliveryFailure(`testers are not notified of ${delivery.event.type}`, { permanent: true })
  if (delivery.testerId && !(await deps.store.getTester(delivery.testerId))) throw new DeliveryFailure('the tester was deleted', { cancelled: true })
  const data = delivery.event.payload as BuildCreatedData

  if (delivery.channel === 'email') {
    const email = deps.email
    if (!email) throw new DeliveryFailure('mail is not configured (--smtp-url)')
    const iconPng = await deps.loadIcon(data.build.id).catch(() => null)
    await withTesterLink(deps, data, delivery.testerId, async (message) =>
      email.sender.send(buildReleaseEmail(message, { from: email.from, to: delivery.recipient, deliveryId: delivery.id, qrPng: await qrCodePng(message.installPageUrl), iconPng })),
    )
    return
  }
  const sms = deps.sms
  if (!sms) throw new DeliveryFailure('SMS is not configured (--sms-provider)')
  await withTesterLink(deps, data, delivery.testerId, (message) => sms.send(delivery.recipient, buildReleaseSms(message), signal))
}

/**
 * Sends with the tester's own link in place of the shared one when the build's access is per tester.
 * Decided at send time, from the access in force then; an error minting the link fails (and
 * retries) the delivery rather than falling back to a shared link the tester could not open. A
 * link minted for a send that failed is revoked: the retry mints another.
 */
async function withTesterLink(deps: DispatchDeps, data: BuildCreatedData, testerId: string | null, send: (data: BuildCreatedData) => Promise<unknown>): Promise<void> {
  const personal = testerId && deps.personalLink ? await deps.personalLink(data.build.id, testerId) : null
  try {
    await send(personal ? { ...data, installPageUrl: personal.url } : data)
  } catch (error) {
    if (personal) await deps.revokeGrant?.(personal.grantId).catch(() => undefined)
    throw error
  }
}
