import type { Kysely, Migration } from 'kysely'

/**
 * Devices enrolled through the Profile Service flow, the enrolment sessions that issue their
 * challenges, and personal enrolment links (invites).
 *
 * `tester` is a free-text reference (an e-mail address, lower-cased, or a name), not a foreign
 * key: who owns a device must survive the tester records being edited or removed, and it lets an
 * invite name someone before any tester record exists. Booleans are integers (0/1) and times ISO
 * 8601 text, as everywhere else, so SQLite and PostgreSQL store them alike.
 */
export const devices: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('devices')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      // Apple's spelling (legacy lower case, modern upper case); unique per server.
      .addColumn('udid', 'text', (c) => c.notNull().unique())
      .addColumn('custom_name', 'text')
      .addColumn('reported_name', 'text')
      .addColumn('product', 'text')
      .addColumn('model_name', 'text')
      .addColumn('family', 'text', (c) => c.notNull())
      .addColumn('os_version', 'text')
      .addColumn('serial', 'text')
      .addColumn('tester', 'text')
      .addColumn('signature_verified', 'integer', (c) => c.notNull())
      .addColumn('chain_verified', 'integer')
      .addColumn('enrollments', 'integer', (c) => c.notNull())
      .addColumn('apple_device_id', 'text')
      .addColumn('apple_registered_at', 'text')
      .addColumn('first_seen_at', 'text', (c) => c.notNull())
      .addColumn('last_seen_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex('devices_tester').on('devices').column('tester').execute()

    await db.schema
      .createTable('device_invites')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('tester', 'text', (c) => c.notNull())
      // SHA-256 of the link's secret; the secret itself is shown once.
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .execute()

    await db.schema
      .createTable('device_enrollments')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('invite_id', 'text', (c) => c.references('device_invites.id').onDelete('set null'))
      // SHA-256 of the Challenge in the profile; the device echoes the challenge itself.
      .addColumn('challenge_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .addColumn('device_id', 'text', (c) => c.references('devices.id').onDelete('set null'))
      .execute()
    await db.schema.createIndex('device_enrollments_expires_at').on('device_enrollments').column('expires_at').execute()
  },
}
