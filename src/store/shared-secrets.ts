import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from './database.ts'

/** Row shape of `shared_secrets`: one random key per name, created once by whichever instance asks first. */
export interface SharedSecretTables {
  shared_secrets: { name: string; value: string; created_at: string }
}

/** The names in use: a key for one purpose is never reused for another. */
export type SharedSecretName = 'url-signing' | 'notify-secret-box' | 'tls-key-box'

/**
 * The 32-byte key named `name`, generated on first use. Instances that start together race on
 * the insert; `on conflict do nothing` makes the first one win and every one read that.
 */
export async function sharedSecret(db: Kysely<Database>, name: SharedSecretName): Promise<Buffer> {
  await db
    .insertInto('shared_secrets')
    .values({ name, value: randomBytes(32).toString('base64url'), created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
  const row = await db.selectFrom('shared_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow()
  const key = Buffer.from(row.value, 'base64url')
  if (key.length !== 32) throw new Error(`the shared secret "${name}" in the database is not a 32-byte key`)
  return key
}
