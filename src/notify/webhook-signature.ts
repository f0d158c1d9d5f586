import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Webhook secrets start with this, so a leaked one is recognisable. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_'

/** `whsec_` + 32 random bytes, base64url: shown once at creation. */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`
}

/**
 * The `X-Airstrip-Signature` value: `sha256=` + hex HMAC-SHA256 of the exact body bytes, keyed
 * with the secret as shown at creation (its UTF-8 bytes, prefix included), as GitHub does.
 *
 * @example signWebhookBody('whsec_…', '{"type":"build.created",…}') // 'sha256=5f1c…'
 */
export function signWebhookBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** What a receiver does: recompute and compare in constant time. */
export function verifyWebhookSignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/.test(header)) return false
  const expected = Buffer.from(signWebhookBody(secret, body), 'utf8')
  return timingSafeEqual(expected, Buffer.from(header, 'utf8'))
}
