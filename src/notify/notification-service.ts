import type { PublicUrls } from '../ota/public-urls.ts'
import type { AccessService } from '../channels/access-service.ts'
import type { BlobStore } from '../store/blob-store.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { NotificationStore } from '../store/notifications.ts'
import type { DeliveryRecord, NewEvent, WebhookEvent, WebhookRecord } from '../store/notification-records.ts'
import type { BuildRecord } from '../store/records.ts'
import { dispatchDelivery } from './dispatch-delivery.ts'
import type { AppRef, BuildCreatedData, BuildDeletedData, DeviceEnrolledData, EnrolledDevice } from './event-payloads.ts'
import { createSmsSender, createWebhookSender, type SmsSender, type WebhookSender } from './http-senders.ts'
import type { NotifyConfig } from './notify-config.ts'
import { createOutboxWorker, type OutboxWorkerOptions, type WorkerLog } from './outbox-worker.ts'
import { personalLinkFor } from './personal-link.ts'
import type { SecretBox } from './secret-box.ts'
import { createSmtpSender, type EmailSender } from './smtp-sender.ts'
import { registerWebhook, type WebhookRequest } from './webhook-registration.ts'

/** Largest icon attached to a mail (icons are small PNGs; anything bigger is not worth a mail). */
const MAX_ICON_BYTES = 2 * 1024 * 1024

export interface NotificationServiceDeps {
  store: NotificationStore
  secrets: SecretBox
  config: NotifyConfig
  urls: PublicUrls
  meta: Pick<MetaStore, 'getBuild'>
  blobs: Pick<BlobStore, 'openReader'>
  now: () => Date
  log: WorkerLog
  /**
   * Access to install, for per-tester links (invite-only builds). A function because the access
   * service is built after this one; without it every message carries the shared page link.
   */
  access?: () => Pick<AccessService, 'policyFor' | 'invite' | 'revokeGrant'>
  /** Tests: other senders, a short lease or poll interval. */
  overrides?: {
    email?: EmailSender
    sms?: SmsSender
    webhooks?: WebhookSender
    worker?: Pick<OutboxWorkerOptions, 'leaseMs' | 'idlePollMs' | 'concurrency' | 'stopGraceMs' | 'random'>
  }
}

/**
 * Notifications as the rest of Airstrip sees them: record an event (the upload route, the delete
 * route, device enrolment call these), manage webhooks, and run the outbox worker. Recording is
 * one SQLite transaction after the build is committed; sending happens later, in the worker, so a
 * dead mail server or webhook never slows or fails the request that caused the event. The
 * `…Created/Deleted/Enrolled` methods never throw: a notification problem is logged, not raised.
 */
export interface NotificationService {
  store: NotificationStore
  /** After an upload. `notify`: true/false as sent with the upload; undefined → the app's default. */
  buildCreated(app: AppRef, build: BuildRecord, options?: { notify?: boolean | undefined }): Promise<void>
  buildDeleted(build: BuildRecord, app?: AppRef | null): Promise<void>
  /**
   * After a device enrolled (src/devices calls this). With `app`, that app's webhooks get
   * `device.enrolled`; without, every webhook subscribed to it does.
   */
  deviceEnrolled(device: EnrolledDevice, options?: { app?: AppRef | null }): Promise<void>
  /** An event for the app's webhooks only (no tester is notified), e.g. `install.started` from src/channels. */
  appEvent(event: { type: WebhookEvent; subjectId: string; bundleId: string; payload: unknown }): Promise<void>
  createWebhook(request: WebhookRequest): Promise<{ webhook: WebhookRecord; secret: string }>
  /** Sends a failed or cancelled delivery again, now. */
  retryDelivery(id: string): Promise<DeliveryRecord | null>
  start(): void
  stop(): Promise<void>
}

export function createNotificationService(deps: NotificationServiceDeps): NotificationService {
  const { store, config, urls, log, overrides = {} } = deps
  const smtp = overrides.email ?? (config.email ? createSmtpSender(config.email.smtpUrl) : null)
  const sms = overrides.sms ?? (config.sms ? createSmsSender(config.sms) : null)
  const webhooks = overrides.webhooks ?? createWebhookSender({ allowPrivateNetworks: config.webhookAllowPrivateNetworks })
  const worker = createOutboxWorker({
    store,
    now: deps.now,
    log,
    retry: { maxAttempts: config.maxAttempts, baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
    ...overrides.worker,
    dispatch: (delivery, signal) =>
      dispatchDelivery(
        { store, secrets: deps.secrets, email: smtp && { sender: smtp, from: config.email?.from ?? 'Airstrip <airstrip@localhost>' }, sms, webhooks, loadIcon, personalLink, revokeGrant },
        delivery,
        signal,
      ),
  })

  async function loadIcon(buildId: string): Promise<Buffer | null> {
    const build = await deps.meta.getBuild(buildId)
    if (!build?.iconSha256) return null
    const reader = await deps.blobs.openReader(build.iconSha256)
    if (!reader) return null
    try {
      if (reader.size > MAX_ICON_BYTES) return null
      const icon = Buffer.alloc(reader.size)
      let filled = 0
      while (filled < icon.length) {
        const read = await reader.read(icon.subarray(filled), filled)
        if (read === 0) break
        filled += read
      }
      return icon.subarray(0, filled)
    } finally {
      await reader.close()
    }
  }

  async function personalLink(buildId: string, testerId: string) {
    const access = deps.access?.()
    const build = access ? await deps.meta.getBuild(buildId) : null
    return access && build ? personalLinkFor(access, build, testerId) : null
  }
  const revokeGrant = (grantId: string): Promise<unknown> => deps.access?.().revokeGrant(grantId) ?? Promise.resolve()

  async function enqueue(event: NewEvent): Promise<void> {
    try {
      const result = await store.enqueueEvent(event)
      if (result.deliveries > 0) worker.wake()
    } catch (error) {
      log.error({ err: error, event: event.type, subject: event.subjectId }, 'notification event not recorded')
    }
  }

  const testerChannels = { email: smtp !== null, sms: sms !== null }
  const appRef = (app: AppRef): AppRef => ({ id: app.id, bundleId: app.bundleId, name: app.name })

  return {
    store,
    buildCreated(app, build, options = {}) {
      const data: BuildCreatedData = {
        app: appRef(app),
        build: { id: build.id, version: build.version, build: build.build, size: build.size, sha256: build.sha256, notes: build.notes, createdAt: build.createdAt },
        installPageUrl: urls.installPage(build.id),
        appPageUrl: urls.appPage(app.id),
      }
      const notifyTesters = options.notify === undefined ? 'app-default' : options.notify
      return enqueue({ type: 'build.created', subjectId: build.id, bundleId: build.bundleId, payload: data, notifyTesters, testerChannels, webhooks: 'app' })
    },
    buildDeleted(build, app) {
      const data: BuildDeletedData = {
        app: app ? appRef(app) : { id: build.appId, bundleId: build.bundleId, name: build.name },
        build: { id: build.id, version: build.version, build: build.build, createdAt: build.createdAt },
        deletedAt: deps.now().toISOString(),
      }
      return enqueue({ type: 'build.deleted', subjectId: build.id, bundleId: build.bundleId, payload: data, notifyTesters: false, testerChannels, webhooks: 'app' })
    },
    deviceEnrolled(device, options = {}) {
      const app = options.app ?? null
      const data: DeviceEnrolledData = {
        device: { id: device.id, udid: device.udid, name: device.name ?? null, model: device.model ?? null, osVersion: device.osVersion ?? null, enrolledAt: device.enrolledAt },
        app: app && appRef(app),
      }
      return enqueue({
        type: 'device.enrolled',
        // One event per enrolment (a device may enrol again): the device id and when.
        subjectId: `${device.id}:${device.enrolledAt}`,
        bundleId: app?.bundleId ?? null,
        payload: data,
        notifyTesters: false,
        testerChannels,
        webhooks: app ? 'app' : 'all-subscribed',
      })
    },
    appEvent: (event) => enqueue({ ...event, notifyTesters: false, testerChannels, webhooks: 'app' }),
    createWebhook: (request) => registerWebhook(store, deps.secrets, request, { allowPrivateNetworks: config.webhookAllowPrivateNetworks }),
    async retryDelivery(id) {
      const delivery = await store.retryDelivery(id)
      if (delivery) worker.wake()
      return delivery
    },
    start: () => worker.start(),
    async stop() {
      await worker.stop()
      smtp?.close()
    },
  }
}
