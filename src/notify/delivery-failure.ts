/**
 * Why a delivery attempt failed, as the worker needs to know it: `permanent` failures (the mail
 * server refused the address for good, the webhook answered 410 Gone, the destination is not
 * allowed) are not retried; anything else is retried with backoff. These never reach a user as an
 * API error, only as a delivery's `lastError`, so they are not AirstripError codes.
 */
export class DeliveryFailure extends Error {
  override name = 'DeliveryFailure'
  readonly permanent: boolean
  /** The target is gone (tester or webhook deleted): the delivery is cancelled, not failed. */
  readonly cancelled: boolean

  constructor(message: string, options: { permanent?: boolean; cancelled?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.permanent = options.permanent ?? false
    this.cancelled = options.cancelled ?? false
  }
}
