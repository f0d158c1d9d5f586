import type { Kysely, Selectable } from 'kysely'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import type { NewWebhook, WebhookEvent, WebhookFormat, WebhookRecord } from './notification-records.ts'
import type { WebhooksTable } from './notification-tables.ts'

/** Webhooks per app. The secret is stored sealed (encrypted), never in the clear, and never listed. */

export async function createWebhook(db: Kysely<Database>, ctx: StoreContext, input: NewWebhook): Promise<WebhookRecord> {
  const id = ctx.newId()
  const row: Selectable<WebhooksTable> = {
    id,
    bundle_id: input.bundleId,
    url: input.url,
    format: input.format,
    events: JSON.stringify([...new Set(input.events)]),
    secret_box: input.sealSecret(id),
    created_at: ctx.now().toISOString(),
  }
  await db.insertInto('webhooks').values(row).execute()
  return toWebhookRecord(row)
}

/** Webhooks of one app, or of every app; oldest first. */
export async function listWebhooks(db: Kysely<Database>, bundleId?: string): Promise<WebhookRecord[]> {
  let select = db.selectFrom('webhooks').selectAll()
  if (bundleId !== undefined) select = select.where('bundle_id', '=', bundleId)
  return (await select.orderBy('created_at').orderBy('id').execute()).map(toWebhookRecord)
}

/** The webhook with its sealed secret (for signing), or null. */
export async function getWebhook(db: Kysely<Database>, id: string): Promise<(WebhookRecord & { secretBox: string }) | null> {
  const row = await db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? { ...toWebhookRecord(row), secretBox: row.secret_box } : null
}

export async function deleteWebhook(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

export function toWebhookRecord(row: Selectable<WebhooksTable>): WebhookRecord {
  return {
    id: row.id,
    bundleId: row.bundle_id,
    url: row.url,
    format: row.format as WebhookFormat,
    events: JSON.parse(row.events) as WebhookEvent[],
    createdAt: row.created_at,
  }
}
