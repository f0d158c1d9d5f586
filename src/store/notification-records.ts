/** What the notification store keeps, as routes, the CLI and the worker see it. */

export const NOTIFY_ON_UPLOAD = ['always', 'on-request'] as const
/** `always`: every upload notifies the app's testers; `on-request`: only uploads sent with notify=true. */
export type NotifyOnUpload = (typeof NOTIFY_ON_UPLOAD)[number]

export const WEBHOOK_EVENTS = ['build.created', 'build.deleted', 'device.enrolled', 'install.started', 'install.completed'] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

export const WEBHOOK_FORMATS = ['json', 'slack', 'teams'] as const
/** `json`: Airstrip's signed event body; `slack`/`teams`: the incoming-webhook message shapes of those tools. */
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number]

export const CHANNELS = ['email', 'sms', 'webhook'] as const
export type Channel = (typeof CHANNELS)[number]

export const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'failed', 'cancelled'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

export interface TesterRecord {
  id: string
  name: string
  email: string
  phone: string | null
  groupIds: string[]
  createdAt: string
  updatedAt: string
}

export interface NewTester {
  name: string
  email: string
  phone?: string | null | undefined
}

export interface GroupRecord {
  id: string
  name: string
  testerIds: string[]
  createdAt: string
}

/** Who hears about an app's uploads, and when. */
export interface AppNotificationSettings {
  bundleId: string
  notifyOnUpload: NotifyOnUpload
  testerIds: string[]
  groupIds: string[]
}

export interface WebhookRecord {
  id: string
  bundleId: string
  url: string
  format: WebhookFormat
  events: WebhookEvent[]
  createdAt: string
}

export interface NewWebhook {
  bundleId: string
  url: string
  format: WebhookFormat
  events: WebhookEvent[]
  /** Encrypts the secret for this webhook id (the id is bound in as associated data). */
  sealSecret: (webhookId: string) => string
}

export interface DeliveryRecord {
  /** Also sent as X-Airstrip-Delivery (webhooks) and in the Message-ID (mail). */
  id: string
  eventId: string
  eventType: string
  /** The build or device the event is about. */
  subjectId: string
  bundleId: string | null
  channel: Channel
  /** E-mail address, phone number or webhook id. */
  recipient: string
  testerId: string | null
  webhookId: string | null
  status: DeliveryStatus
  attempts: number
  nextAttemptAt: string
  lastError: string | null
  createdAt: string
  updatedAt: string
  deliveredAt: string | null
}

/** A delivery a worker holds, with what it needs to send it. */
export interface ClaimedDelivery extends DeliveryRecord {
  claimId: string
  event: { id: string; type: string; payload: unknown; createdAt: string }
}

/** An event to record with its deliveries, in one transaction. */
export interface NewEvent {
  type: WebhookEvent
  /** The build or device id; with `type` it makes the event's idempotency key. */
  subjectId: string
  /** The app concerned; null for an event that concerns no particular app. */
  bundleId: string | null
  payload: unknown
  /**
   * Whether the app's testers hear about it: `true` (asked for), `false` (asked not to), or
   * `'app-default'` (the app's `notifyOnUpload`).
   */
  notifyTesters: boolean | 'app-default'
  /** Channels that can reach testers (e-mail needs SMTP configured, SMS a provider and a phone). */
  testerChannels: { email: boolean; sms: boolean }
  /** Which webhooks get it: those of `bundleId`, or (for events outside any app) every webhook subscribed. */
  webhooks: 'app' | 'all-subscribed'
}

export interface DeliveryPage {
  deliveries: DeliveryRecord[]
  nextCursor: string | null
}

export interface DeliveryQuery {
  status?: DeliveryStatus | undefined
  channel?: Channel | undefined
  subjectId?: string | undefined
  bundleId?: string | undefined
  limit: number
  cursor?: string | undefined
}
