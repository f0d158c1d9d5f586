/**
 * Row shapes of the notification tables (migration 2026-11-26-0003), part of `Database` in
 * database.ts. Times are ISO 8601 UTC with milliseconds, so text order is time order.
 */

export interface TestersTable {
  id: string
  name: string
  /** Lower-case. */
  email: string
  /** E.164 (+ and digits), or null. */
  phone: string | null
  created_at: string
  updated_at: string
}

export interface TesterGroupsTable {
  id: string
  name: string
  created_at: string
}

export interface TesterGroupMembersTable {
  group_id: string
  tester_id: string
}

export interface AppNotificationSettingsTable {
  bundle_id: string
  /** 'always' | 'on-request' */
  notify_on_upload: string
  updated_at: string
}

export interface AppTestersTable {
  bundle_id: string
  tester_id: string
}

export interface AppGroupsTable {
  bundle_id: string
  group_id: string
}

export interface WebhooksTable {
  id: string
  bundle_id: string
  url: string
  /** 'json' | 'slack' | 'teams' */
  format: string
  /** JSON array of event types. */
  events: string
  /** The signing secret, encrypted with the data dir's key (see src/notify/secret-box.ts). */
  secret_box: string
  created_at: string
}

export interface NotificationEventsTable {
  id: string
  event_key: string
  type: string
  subject_id: string
  bundle_id: string | null
  /** JSON of the event's public data. */
  payload: string
  created_at: string
}

export interface NotificationDeliveriesTable {
  id: string
  event_id: string
  /** 'email' | 'sms' | 'webhook' */
  channel: string
  recipient: string
  tester_id: string | null
  webhook_id: string | null
  idempotency_key: string
  /** 'pending' | 'sending' | 'delivered' | 'failed' | 'cancelled' */
  status: string
  attempts: number
  next_attempt_at: string
  /** Set while a worker holds the delivery; only that claim may complete it. */
  claim_id: string | null
  locked_until: string | null
  last_error: string | null
  created_at: string
  updated_at: string
  delivered_at: string | null
}

/** The notification part of the schema, as Kysely sees it. */
export interface NotificationTables {
  testers: TestersTable
  tester_groups: TesterGroupsTable
  tester_group_members: TesterGroupMembersTable
  app_notification_settings: AppNotificationSettingsTable
  app_testers: AppTestersTable
  app_groups: AppGroupsTable
  webhooks: WebhooksTable
  notification_events: NotificationEventsTable
  notification_deliveries: NotificationDeliveriesTable
}
