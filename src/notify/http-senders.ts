import { DeliveryFailure } from './delivery-failure.ts'
import { DestinationRefusedError, postOutbound } from './outbound-http.ts'
import { buildSmsRequest, type SmsProviderConfig } from './sms-request.ts'
import { signWebhookBody } from './webhook-signature.ts'

/** Limits for every outbound POST (webhooks, SMS providers). */
export interface HttpLimits {
  timeoutMs: number
  maxResponseBytes: number
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { timeoutMs: 10_000, maxResponseBytes: 64 * 1024 }

export interface WebhookDelivery {
  url: string
  secret: string
  event: string
  deliveryId: string
  body: string
}

/** Sends one webhook POST; throws DeliveryFailure unless the receiver answers 2xx. */
export interface WebhookSender {
  send(delivery: WebhookDelivery, signal?: AbortSignal): Promise<void>
}

/** Sends one SMS; throws DeliveryFailure unless the provider answers 2xx. */
export interface SmsSender {
  send(to: string, text: string, signal?: AbortSignal): Promise<void>
}

/**
 * Webhooks: JSON body signed with the webhook's secret, `X-Airstrip-Event`, `X-Airstrip-Delivery`
 * (stable across retries: receivers drop a delivery id they have already processed) and
 * `X-Airstrip-Signature: sha256=<hex HMAC-SHA256 of the body>`. Only 2xx counts as delivered;
 * 410 Gone stops retries.
 */
export function createWebhookSender(options: { allowPrivateNetworks: boolean; limits?: HttpLimits; userAgent?: string }): WebhookSender {
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS
  return {
    async send(delivery, signal) {
      const headers = {
        'content-type': 'application/json',
        'user-agent': options.userAgent ?? 'Airstrip-Webhook/1',
        'x-airstrip-event': delivery.event,
        'x-airstrip-delivery': delivery.deliveryId,
        'x-airstrip-signature': signWebhookBody(delivery.secret, delivery.body),
      }
      await post({ url: delivery.url, headers, body: delivery.body, allowPrivateNetworks: options.allowPrivateNetworks, signal }, limits, 'webhook')
    },
  }
}

/**
 * SMS through the configured provider. Its URL is set by the administrator, not by API users, so
 * it may be anywhere (a gateway on the LAN); timeouts and response caps still apply.
 */
export function createSmsSender(provider: SmsProviderConfig, limits: HttpLimits = DEFAULT_HTTP_LIMITS): SmsSender {
  return {
    async send(to, text, signal) {
      const request = buildSmsRequest(provider, to, text)
      await post({ ...request, allowPrivateNetworks: true, signal }, limits, 'SMS provider')
    },
  }
}

async function post(
  request: { url: string; headers: Record<string, string>; body: string; allowPrivateNetworks: boolean; signal: AbortSignal | undefined },
  limits: HttpLimits,
  what: string,
): Promise<void> {
  let status: number
  let answer: string
  try {
    const response = await postOutbound({ ...request, timeoutMs: limits.timeoutMs, maxResponseBytes: limits.maxResponseBytes })
    status = response.status
    answer = response.body.toString('utf8', 0, Math.min(response.body.length, 200)).replace(/\s+/g, ' ').trim()
  } catch (error) {
    if (error instanceof DestinationRefusedError) throw new DeliveryFailure(`${what} refused: ${error.message}`, { permanent: true, cause: error })
    throw new DeliveryFailure(`${what}: ${(error as Error).message}`, { cause: error })
  }
  if (status >= 200 && status < 300) return
  throw new DeliveryFailure(`${what} answered ${status}${answer ? `: ${answer}` : ''}`, { permanent: status === 410 })
}
