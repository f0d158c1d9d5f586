import type { ExpressionBuilder, Insertable, Kysely, Selectable } from 'kysely'
import { AirstripError } from '../errors.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import type { Channel, ClaimedDelivery, DeliveryPage, DeliveryQuery, DeliveryRecord, DeliveryStatus, NewEvent } from './notification-records.ts'
import type { NotificationDeliveriesTable, NotificationEventsTable } from './notification-tables.ts'
import { appRecipients, getAppNotificationSettings } from './testers.ts'
import { toWebhookRecord } from './webhooks.ts'

/**
 * The outbox: events and their deliveries, written in one transaction, then claimed, completed
 * or rescheduled by the worker. Every statement is portable (UPDATE … WHERE id IN (SELECT … LIMIT)
 * … RETURNING runs on SQLite ≥ 3.35 and PostgreSQL; a PostgreSQL adapter would add
 * FOR UPDATE SKIP LOCKED to the inner SELECT).
 */

export const MAX_DELIVERY_PAGE = 200

/**
 * Records an event and one delivery per recipient and channel, all or nothing. The event key is
 * `type:subjectId`, so enqueueing the same event again changes nothing; a delivery's idempotency
 * key is event key + channel + address, so a tester reached through two groups is sent one mail.
 */
export async function enqueueEvent(db: Kysely<Database>, ctx: StoreContext, event: NewEvent): Promise<{ eventId: string; created: boolean; deliveries: number }> {
  const eventKey = `${event.type}:${event.subjectId}`
  const now = ctx.now().toISOString()
  return db.transaction().execute(async (trx) => {
    const eventRow: Insertable<NotificationEventsTable> = {
      id: ctx.newId(),
      event_key: eventKey,
      type: event.type,
      subject_id: event.subjectId,
      bundle_id: event.bundleId,
      payload: JSON.stringify(event.payload),
      created_at: now,
    }
    const inserted = await trx.insertInto('notification_events').values(eventRow).onConflict((oc) => oc.column('event_key').doNothing()).executeTakeFirst()
    if (inserted.numInsertedOrUpdatedRows === 0n) {
      const existing = await trx.selectFrom('notification_events').select('id').where('event_key', '=', eventKey).executeTakeFirstOrThrow()
      const count = await trx.selectFrom('notification_deliveries').select((eb) => eb.fn.countAll().as('n')).where('event_id', '=', existing.id).executeTakeFirstOrThrow()
      return { eventId: existing.id, created: false, deliveries: Number(count.n) }
    }

    const targets: Array<{ channel: Channel; recipient: string; testerId: string | null; webhookId: string | null }> = []
    if (event.bundleId !== null && event.notifyTesters !== false) {
      const notify = event.notifyTesters === true || (await getAppNotificationSettings(trx, event.bundleId)).notifyOnUpload === 'always'
      if (notify) {
        for (const tester of await appRecipients(trx, event.bundleId)) {
          if (event.testerChannels.email) targets.push({ channel: 'email', recipient: tester.email, testerId: tester.id, webhookId: null })
          if (event.testerChannels.sms && tester.phone) targets.push({ channel: 'sms', recipient: tester.phone, testerId: tester.id, webhookId: null })
        }
      }
    }
    let webhooks = trx.selectFrom('webhooks').selectAll()
    if (event.webhooks === 'app') webhooks = webhooks.where('bundle_id', '=', event.bundleId ?? '')
    for (const row of await webhooks.orderBy('created_at').orderBy('id').execute()) {
      if (toWebhookRecord(row).events.includes(event.type)) targets.push({ channel: 'webhook', recipient: row.id, testerId: null, webhookId: row.id })
    }

    let deliveries = 0
    for (const target of targets) {
      const row: Insertable<NotificationDeliveriesTable> = {
        id: ctx.newId(),
        event_id: eventRow.id,
        channel: target.channel,
        recipient: target.recipient,
        tester_id: target.testerId,
        webhook_id: target.webhookId,
        idempotency_key: `${eventKey}|${target.channel}|${target.recipient}`,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        claim_id: null,
        locked_until: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        delivered_at: null,
      }
      const added = await trx.insertInto('notification_deliveries').values(row).onConflict((oc) => oc.column('idempotency_key').doNothing()).executeTakeFirst()
      deliveries += Number(added.numInsertedOrUpdatedRows ?? 0n)
    }
    return { eventId: eventRow.id, created: true, deliveries }
  })
}

/**
 * Claims up to `limit` due deliveries for `leaseMs`: pending ones whose time has come, and ones
 * whose holder's lease ran out (the process died mid-send). Each claim counts as an attempt, so a
 * delivery that crashes its sender cannot loop forever; one whose last allowed attempt was cut
 * short (or that has no attempts left) is marked failed here. One UPDATE claims: two workers
 * never claim the same row.
 */
export async function claimDueDeliveries(
  db: Kysely<Database>,
  ctx: StoreContext,
  options: { leaseMs: number; limit: number; maxAttempts: number },
): Promise<ClaimedDelivery[]> {
  const now = ctx.now()
  const nowText = now.toISOString()
  await db
    .updateTable('notification_deliveries')
    .set({ status: 'failed', claim_id: null, locked_until: null, updated_at: nowText, last_error: 'no attempts left (the last one was interrupted, or --notify-max-attempts was lowered)' })
    .where('attempts', '>=', options.maxAttempts)
    // Pending with no attempts left happens when --notify-max-attempts was lowered.
    .where((eb) => eb.or([eb('status', '=', 'pending'), eb.and([eb('status', '=', 'sending'), eb('locked_until', '<=', nowText)])]))
    .execute()
  const claimId = ctx.newId()
  const isDue = (eb: ExpressionBuilder<Database, 'notification_deliveries'>) =>
    eb.or([
      eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', nowText)]),
      eb.and([eb('status', '=', 'sending'), eb('locked_until', '<=', nowText)]),
    ])
  const due = db
    .selectFrom('notification_deliveries')
    .select('id')
    .where(isDue)
    .where('attempts', '<', options.maxAttempts)
    .orderBy('next_attempt_at')
    .orderBy('id')
    .limit(options.limit)
  const rows = await db
    .updateTable('notification_deliveries')
    .set((eb) => ({
      status: 'sending',
      claim_id: claimId,
      locked_until: new Date(now.getTime() + options.leaseMs).toISOString(),
      attempts: eb('attempts', '+', 1),
      updated_at: nowText,
    }))
    .where('id', 'in', due)
    // Checked again on the row itself: under PostgreSQL's READ COMMITTED a concurrent claimer's
    // UPDATE waits for ours, then re-evaluates this on the row we changed, and skips it.
    .where(isDue)
    .returningAll()
    .execute()
  if (rows.length === 0) return []
  const events = await db.selectFrom('notification_events').selectAll().where('id', 'in', [...new Set(rows.map((r) => r.event_id))]).execute()
  const byId = new Map(events.map((e) => [e.id, e]))
  return rows
    .sort((a, b) => a.next_attempt_at.localeCompare(b.next_attempt_at) || a.id.localeCompare(b.id))
    .map((row) => {
      const event = byId.get(row.event_id)!
      return {
        ...toDeliveryRecord(row, event),
        claimId,
        event: { id: event.id, type: event.type, payload: JSON.parse(event.payload) as unknown, createdAt: event.created_at },
      }
    })
}

/** Marks a claimed delivery sent; false when the claim was lost (lease expired and re-claimed). */
export async function completeDelivery(db: Kysely<Database>, ctx: StoreContext, id: string, claimId: string): Promise<boolean> {
  const now = ctx.now().toISOString()
  const result = await db
    .updateTable('notification_deliveries')
    .set({ status: 'delivered', delivered_at: now, updated_at: now, claim_id: null, locked_until: null, last_error: null })
    .where('id', '=', id)
    .where('claim_id', '=', claimId)
    .where('status', '=', 'sending')
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * Records a failed attempt: back to `pending` at `retryAt`, or `failed` (no more attempts) or
 * `cancelled` (nothing left to send to) when `retryAt` is null.
 */
export async function failDelivery(
  db: Kysely<Database>,
  ctx: StoreContext,
  id: string,
  claimId: string,
  outcome: { error: string; retryAt: Date | null; cancel?: boolean },
): Promise<boolean> {
  const status: DeliveryStatus = outcome.cancel ? 'cancelled' : outcome.retryAt ? 'pending' : 'failed'
  const result = await db
    .updateTable('notification_deliveries')
    .set({
      status,
      claim_id: null,
      locked_until: null,
      last_error: outcome.error.slice(0, 1000),
      updated_at: ctx.now().toISOString(),
      ...(outcome.retryAt ? { next_attempt_at: outcome.retryAt.toISOString() } : {}),
    })
    .where('id', '=', id)
    .where('claim_id', '=', claimId)
    .where('status', '=', 'sending')
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** When the worker next has something to do (a pending delivery or an expiring lease), or null. */
export async function nextDueAt(db: Kysely<Database>): Promise<Date | null> {
  const pending = await db.selectFrom('notification_deliveries').select((eb) => eb.fn.min('next_attempt_at').as('t')).where('status', '=', 'pending').executeTakeFirst()
  const leased = await db.selectFrom('notification_deliveries').select((eb) => eb.fn.min('locked_until').as('t')).where('status', '=', 'sending').executeTakeFirst()
  const times = [pending?.t, leased?.t].filter((t): t is string => typeof t === 'string').map((t) => new Date(t).getTime())
  return times.length ? new Date(Math.min(...times)) : null
}

/** Deliveries newest first, filtered; keyset pagination on (created_at, id). */
export async function listDeliveries(db: Kysely<Database>, query: DeliveryQuery): Promise<DeliveryPage> {
  const limit = Math.min(Math.max(1, Math.floor(query.limit) || 1), MAX_DELIVERY_PAGE)
  let select = db.selectFrom('notification_deliveries as d').innerJoin('notification_events as e', 'e.id', 'd.event_id').selectAll('d').select(['e.type', 'e.subject_id', 'e.bundle_id'])
  if (query.status) select = select.where('d.status', '=', query.status)
  if (query.channel) select = select.where('d.channel', '=', query.channel)
  if (query.subjectId) select = select.where('e.subject_id', '=', query.subjectId)
  if (query.bundleId) select = select.where('e.bundle_id', '=', query.bundleId)
  if (query.cursor) {
    const after = decodeCursor(query.cursor)
    select = select.where((eb) => eb.or([eb('d.created_at', '<', after.createdAt), eb.and([eb('d.created_at', '=', after.createdAt), eb('d.id', '<', after.id)])]))
  }
  const rows = await select.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(limit + 1).execute()
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return {
    deliveries: page.map((row) => toDeliveryRecord(row, { type: row.type, subject_id: row.subject_id, bundle_id: row.bundle_id })),
    nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
  }
}

export async function getDelivery(db: Kysely<Database>, id: string): Promise<DeliveryRecord | null> {
  const row = await db
    .selectFrom('notification_deliveries as d')
    .innerJoin('notification_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select(['e.type', 'e.subject_id', 'e.bundle_id'])
    .where('d.id', '=', id)
    .executeTakeFirst()
  return row ? toDeliveryRecord(row, { type: row.type, subject_id: row.subject_id, bundle_id: row.bundle_id }) : null
}

/**
 * Sends a failed or cancelled delivery again, from scratch (attempts reset). A delivered one is
 * refused (`bad-request`): sending it again would be a duplicate. Null when there is none.
 */
export async function retryDelivery(db: Kysely<Database>, ctx: StoreContext, id: string): Promise<DeliveryRecord | null> {
  const current = await getDelivery(db, id)
  if (!current) return null
  if (current.status !== 'failed' && current.status !== 'cancelled') throw new AirstripError('bad-request', `only failed or cancelled deliveries can be retried; this one is ${current.status}`)
  const now = ctx.now().toISOString()
  await db
    .updateTable('notification_deliveries')
    .set({ status: 'pending', attempts: 0, next_attempt_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'cancelled'])
    .execute()
  return getDelivery(db, id)
}

function toDeliveryRecord(row: Selectable<NotificationDeliveriesTable>, event: Pick<Selectable<NotificationEventsTable>, 'type' | 'subject_id' | 'bundle_id'>): DeliveryRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: event.type,
    subjectId: event.subject_id,
    bundleId: event.bundle_id,
    channel: row.channel as Channel,
    recipient: row.recipient,
    testerId: row.tester_id,
    webhookId: row.webhook_id,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at,
  }
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id]), 'utf8').toString('base64url')
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id }
  } catch {
    // fall through: not one of ours
  }
  throw new AirstripError('bad-request', 'the cursor is not one this server issued')
}
