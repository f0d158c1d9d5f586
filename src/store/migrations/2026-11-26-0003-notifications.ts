import type { Kysely, Migration } from 'kysely'

/**
 * Notifications: testers and groups, which apps they follow, webhooks, and the outbox (events and
 * one delivery per recipient and channel).
 *
 * Apps are referred to by bundle id, not by `apps.id`: an app row is deleted with its last build
 * and re-created (new id) by the next upload, and who follows an app must survive that; it also
 * lets an app be configured before its first upload. Deliveries keep no foreign key to testers
 * or webhooks so their history outlives them (the worker cancels a delivery whose target is gone).
 */
export const notifications: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('testers')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      // Stored lower-case, so uniqueness is case-insensitive on every engine.
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('phone', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('tester_groups')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('tester_group_members')
      .addColumn('group_id', 'text', (c) => c.notNull().references('tester_groups.id').onDelete('cascade'))
      .addColumn('tester_id', 'text', (c) => c.notNull().references('testers.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('tester_group_members_pk', ['group_id', 'tester_id'])
      .execute()
    await db.schema.createIndex('tester_group_members_tester_id').on('tester_group_members').column('tester_id').execute()

    await db.schema
      .createTable('app_notification_settings')
      .addColumn('bundle_id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('notify_on_upload', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()

    await db.schema
      .createTable('app_testers')
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('tester_id', 'text', (c) => c.notNull().references('testers.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('app_testers_pk', ['bundle_id', 'tester_id'])
      .execute()
    await db.schema.createIndex('app_testers_tester_id').on('app_testers').column('tester_id').execute()

    await db.schema
      .createTable('app_groups')
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('group_id', 'text', (c) => c.notNull().references('tester_groups.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('app_groups_pk', ['bundle_id', 'group_id'])
      .execute()
    await db.schema.createIndex('app_groups_group_id').on('app_groups').column('group_id').execute()

    await db.schema
      .createTable('webhooks')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('bundle_id', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      // JSON array of event types.
      .addColumn('events', 'text', (c) => c.notNull())
      // The signing secret, encrypted (AES-256-GCM) with a key kept in the data dir, never in the database.
      .addColumn('secret_box', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('webhooks_bundle_id').on('webhooks').column('bundle_id').execute()

    await db.schema
      .createTable('notification_events')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      // e.g. "build.created:<build id>": enqueueing the same event twice is a no-op.
      .addColumn('event_key', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('bundle_id', 'text')
      // JSON: the event's public data, frozen at enqueue time (what webhooks receive).
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('notification_events_subject_id').on('notification_events').column('subject_id').execute()

    await db.schema
      .createTable('notification_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('event_id', 'text', (c) => c.notNull().references('notification_events.id').onDelete('cascade'))
      .addColumn('channel', 'text', (c) => c.notNull())
      // The address, phone number or webhook id, as it was at enqueue time.
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('tester_id', 'text')
      .addColumn('webhook_id', 'text')
      // event key + channel + recipient: one delivery per recipient, however many groups lead to it.
      .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('claim_id', 'text')
      .addColumn('locked_until', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('delivered_at', 'text')
      .execute()
    // The worker's "what is due" query, and listings newest first.
    await db.schema.createIndex('notification_deliveries_due').on('notification_deliveries').columns(['status', 'next_attempt_at']).execute()
    await db.schema.createIndex('notification_deliveries_event_id').on('notification_deliveries').column('event_id').execute()
    await db.schema.createIndex('notification_deliveries_created_at').on('notification_deliveries').columns(['created_at', 'id']).execute()
  },
}
