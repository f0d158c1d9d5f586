import type { NotificationStore } from '../store/notifications.ts'
import type { ClaimedDelivery } from '../store/notification-records.ts'
import { DeliveryFailure } from './delivery-failure.ts'
import { retryDelayMs } from './retry-backoff.ts'

/** The pino-shaped logger the worker reports to. */
export interface WorkerLog {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

export interface OutboxWorkerOptions {
  store: Pick<NotificationStore, 'claimDueDeliveries' | 'completeDelivery' | 'failDelivery' | 'nextDueAt'>
  /** Sends one delivery; throws (ideally a DeliveryFailure) when it did not go out. */
  dispatch(delivery: ClaimedDelivery, signal: AbortSignal): Promise<void>
  now: () => Date
  retry: { maxAttempts: number; baseMs: number; maxMs: number }
  log: WorkerLog
  random?: () => number
  /** How long a claim holds a delivery; after it, another worker (or this one after a restart) may take it. */
  leaseMs?: number
  /** Deliveries sent at the same time. */
  concurrency?: number
  /** Longest sleep between looks at the outbox (other processes may have added work). */
  idlePollMs?: number
  /** On stop, how long in-flight sends may take before they are aborted. */
  stopGraceMs?: number
}

export interface OutboxWorker {
  start(): void
  /** Something was enqueued: look now instead of at the next poll. */
  wake(): void
  /** Stops claiming, lets in-flight sends finish (up to the grace period), then aborts the rest. */
  stop(): Promise<void>
}

/**
 * Drains the outbox in the background: claims due deliveries (a lease, so a crash mid-send only
 * delays a delivery until the lease runs out), sends up to `concurrency` at once, records the
 * outcome, and retries failures with exponential backoff and jitter until `maxAttempts`, when the
 * delivery is marked failed. Nothing here runs on a request's path: an upload only enqueues.
 */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { store, log, now } = options
  const leaseMs = options.leaseMs ?? 5 * 60_000
  const concurrency = options.concurrency ?? 4
  const idlePollMs = options.idlePollMs ?? 5_000
  const stopGraceMs = options.stopGraceMs ?? 5_000
  const abort = new AbortController()
  const inFlight = new Set<Promise<void>>()
  let timer: NodeJS.Timeout | null = null
  let pass: Promise<void> | null = null
  let again = false
  let state: 'idle' | 'running' | 'stopped' = 'idle'

  const schedule = (delayMs: number): void => {
    if (state !== 'running') return
    if (timer) clearTimeout(timer)
    // A floor, so a row the claim cannot take (a clock oddity) never turns this into a busy loop.
    timer = setTimeout(() => {
      timer = null
      run()
    }, Math.max(10, Math.min(idlePollMs, delayMs)))
    timer.unref()
  }

  const run = (): void => {
    if (state !== 'running') return
    if (pass) {
      again = true
      return
    }
    pass = claimAndSend().finally(() => {
      pass = null
      if (again) {
        again = false
        run()
      }
    })
  }

  async function claimAndSend(): Promise<void> {
    try {
      const free = concurrency - inFlight.size
      if (free > 0) {
        const batch = await store.claimDueDeliveries({ leaseMs, limit: free, maxAttempts: options.retry.maxAttempts })
        for (const delivery of batch) track(delivery)
        if (batch.length === free) again = true
      }
      // With every slot busy, the next finished delivery starts the next pass.
      if (inFlight.size < concurrency && !again) {
        const next = await store.nextDueAt()
        schedule(next ? next.getTime() - now().getTime() : idlePollMs)
      }
    } catch (error) {
      if (state === 'running') log.error({ err: error }, 'notification outbox: could not claim deliveries')
      schedule(idlePollMs)
    }
  }

  function track(delivery: ClaimedDelivery): void {
    const sending: Promise<void> = deliver(delivery).finally(() => {
      inFlight.delete(sending)
      run()
    })
    inFlight.add(sending)
  }

  async function deliver(delivery: ClaimedDelivery): Promise<void> {
    const context = { delivery: delivery.id, channel: delivery.channel, event: delivery.eventType, attempt: delivery.attempts }
    try {
      await options.dispatch(delivery, abort.signal)
    } catch (error) {
      const failure = error instanceof DeliveryFailure ? error : new DeliveryFailure((error as Error)?.message ?? String(error), { cause: error })
      const final = failure.cancelled || failure.permanent || delivery.attempts >= options.retry.maxAttempts
      const retryAt = final ? null : new Date(now().getTime() + retryDelayMs(delivery.attempts, { baseMs: options.retry.baseMs, maxMs: options.retry.maxMs }, options.random))
      log.warn({ ...context, error: failure.message, retryAt: retryAt?.toISOString() ?? null }, final ? 'notification not delivered' : 'notification attempt failed; will retry')
      await record(() => store.failDelivery(delivery.id, delivery.claimId, { error: failure.message, retryAt, cancel: failure.cancelled }), context)
      return
    }
    log.info(context, 'notification delivered')
    await record(() => store.completeDelivery(delivery.id, delivery.claimId), context)
  }

  async function record(write: () => Promise<boolean>, context: object): Promise<void> {
    try {
      // false: our lease ran out and someone else holds the delivery now; their outcome stands.
      if (!(await write())) log.warn(context, 'notification outcome not recorded: the claim had expired')
    } catch (error) {
      log.error({ ...context, err: error }, 'notification outcome not recorded; it will be sent again when its claim expires')
    }
  }

  return {
    start() {
      if (state !== 'idle') return
      state = 'running'
      run()
    },
    wake() {
      run()
    },
    async stop() {
      if (state === 'stopped') return
      state = 'stopped'
      if (timer) clearTimeout(timer)
      await pass
      let graceTimer: NodeJS.Timeout | undefined
      const grace = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, stopGraceMs)))
      await Promise.race([Promise.allSettled([...inFlight]), grace])
      clearTimeout(graceTimer)
      abort.abort(new Error('the server is stopping'))
      // Aborted HTTP sends settle at once and record their attempt; a send that ignores the
      // signal (SMTP) keeps its claim, and the delivery is taken again after its lease.
      let shortTimer: NodeJS.Timeout | undefined
      await Promise.race([Promise.allSettled([...inFlight]), new Promise<void>((resolve) => (shortTimer = setTimeout(resolve, 500)))])
      clearTimeout(shortTimer)
    },
  }
}
