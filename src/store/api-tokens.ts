import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import { AirstripError } from '../errors.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { API_TOKEN_SCOPES, type ApiTokenRecord, type ApiTokenScope, type NewApiTokenOptions, type VerifiedApiToken } from './records.ts'

/** Every token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const API_TOKEN_PREFIX = 'as_'

/** `as_` + base64url of 32 random bytes (43 characters). */
const TOKEN_PATTERN = /^as_[A-Za-z0-9_-]{43}$/

/** SHA-256 of a token, hex: what is stored and looked up. The token itself is never stored. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/**
 * Creates a token and returns it, the only time it is ever visible. Only its hash is stored: a
 * leaked database (or backup) grants nothing, and 256 random bits need no slow hash.
 */
export async function createApiToken(db: Kysely<Database>, ctx: StoreContext, name: string, options: NewApiTokenOptions = {}): Promise<{ id: string; token: string }> {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed.length > 200) throw new AirstripError('bad-request', 'a token name must be 1 to 200 characters')
  const scope = options.scope ?? 'full'
  if (!(API_TOKEN_SCOPES as readonly string[]).includes(scope)) throw new AirstripError('bad-request', `a token scope is one of ${API_TOKEN_SCOPES.join(', ')}`)
  const bundleId = options.bundleId?.trim() || null
  if (bundleId !== null && !/^[A-Za-z0-9.-]{1,255}$/.test(bundleId)) throw new AirstripError('bad-request', 'a bundle id has only letters, digits, "." and "-"')
  const id = ctx.newId()
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
  await db
    .insertInto('api_tokens')
    .values({
      id, name: trimmed, token_hash: hashApiToken(token), created_at: ctx.now().toISOString(), last_used_at: null,
      scope, bundle_id: bundleId, created_by: options.createdBy ?? null,
    })
    .execute()
  return { id, token }
}

/**
 * The token's id and name when it is valid, else null; records when it was last used.
 * The lookup is by hash, so its timing depends on the hash, not on how much of the secret an
 * attacker guessed; the equality check is constant-time anyway, as a second line.
 */
export async function verifyApiToken(db: Kysely<Database>, ctx: StoreContext, token: string): Promise<VerifiedApiToken | null> {
  if (!TOKEN_PATTERN.test(token)) return null
  const hash = hashApiToken(token)
  const row = await db.selectFrom('api_tokens').select(['id', 'name', 'token_hash', 'scope', 'bundle_id']).where('token_hash', '=', hash).executeTakeFirst()
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return null
  await db.updateTable('api_tokens').set({ last_used_at: ctx.now().toISOString() }).where('id', '=', row.id).execute()
  return { id: row.id, name: row.name, scope: toScope(row.scope), bundleId: row.bundle_id }
}

/** An unknown stored scope (a newer Airstrip's) grants the least: upload only. */
function toScope(value: string): ApiTokenScope {
  return value === 'full' ? 'full' : 'upload'
}

/** Every token, oldest first, without hashes. */
export async function listApiTokens(db: Kysely<Database>): Promise<ApiTokenRecord[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .select(['id', 'name', 'created_at', 'last_used_at', 'scope', 'bundle_id', 'created_by'])
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map((row) => ({
    id: row.id, name: row.name, createdAt: row.created_at, lastUsedAt: row.last_used_at,
    scope: toScope(row.scope), bundleId: row.bundle_id, createdBy: row.created_by,
  }))
}

/** Deletes a token; true when it existed. Takes effect on the next request that presents it. */
export async function revokeApiToken(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}
