import { createHash, randomBytes } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { AccessScope, GrantFacts, GrantKind } from '../access/access-policy.ts'
import { AirstripError } from '../errors.ts'
import type { AccessGrantsTable } from './access-tables.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'

/** A grant as listed: the facts the checks use, who it is for, and when it was last used. */
export interface GrantRecord extends GrantFacts {
  tester: { id: string; name: string; email: string } | null
  createdAt: string
  lastUsedAt: string | null
}

/**
 * Grants: personal links (invites, one tester each) and the current password of a scope. Every
 * signed link minted under a grant carries its id and is checked against this store on every
 * request. Secrets are kept as SHA-256 only (the link is shown once); passwords as argon2id.
 */
export interface AccessStore {
  /** A personal link for a tester (`tester-not-found` when there is none); `secret` goes into the URL, once. */
  createInvite(input: { scope: AccessScope; testerId: string; expiresAt?: string | null }): Promise<{ grant: GrantRecord; secret: string }>
  /** The invite whose link carries `secret` (revoked or not: the caller judges), or null. */
  findInvite(secret: string): Promise<GrantRecord | null>
  getGrant(id: string): Promise<GrantRecord | null>
  /** An app's grants (newest first), optionally of one kind or tester; revoked ones included. */
  listGrants(query: { bundleId: string; kind?: GrantKind | undefined; testerId?: string | undefined }): Promise<GrantRecord[]>
  /** Withdraws a grant; false when there is none or it was already revoked. */
  revokeGrant(id: string): Promise<boolean>
  /** Withdraws every live grant of a tester for an app; returns how many. */
  revokeTesterGrants(bundleId: string, testerId: string): Promise<number>
  /** The scope's new password (argon2id PHC string): a new grant, and the previous one revoked, in one transaction. */
  setPassword(scope: AccessScope, passwordHash: string): Promise<GrantRecord>
  /** Revokes the scope's password grants; returns how many. */
  clearPassword(scope: AccessScope): Promise<number>
  /** The scope's live password grant and its hash, or null. */
  passwordGrant(scope: AccessScope): Promise<{ grant: GrantRecord; passwordHash: string } | null>
}

export function createSqlAccessStore(db: Kysely<Database>, options: Partial<StoreContext> = {}): AccessStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  const select = () =>
    db
      .selectFrom('access_grants')
      .leftJoin('testers', 'testers.id', 'access_grants.tester_id')
      .selectAll('access_grants')
      .select(['testers.name as tester_name', 'testers.email as tester_email'])
  const scoped = <T extends { where: (...args: any[]) => T }>(query: T, scope: AccessScope): T =>
    scope.channel === null ? query.where('channel', 'is', null) : query.where('channel', '=', scope.channel)

  return {
    async createInvite({ scope, testerId, expiresAt = null }) {
      const tester = await db.selectFrom('testers').select('id').where('id', '=', testerId).executeTakeFirst()
      if (!tester) throw new AirstripError('tester-not-found', `no tester with id ${JSON.stringify(testerId)}`)
      const secret = randomBytes(32).toString('base64url')
      const id = ctx.newId()
      await db
        .insertInto('access_grants')
        .values({
          id, bundle_id: scope.bundleId, channel: scope.channel, kind: 'invite', tester_id: testerId, secret_hash: secretHash(secret), password_hash: null,
          created_at: ctx.now().toISOString(), expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(), revoked_at: null, last_used_at: null,
        })
        .execute()
      return { grant: (await this.getGrant(id))!, secret }
    },
    async findInvite(secret) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return null
      const row = await select().where('access_grants.secret_hash', '=', secretHash(secret)).where('access_grants.kind', '=', 'invite').executeTakeFirst()
      return row ? toGrantRecord(row) : null
    },
    async getGrant(id) {
      const row = await select().where('access_grants.id', '=', id).executeTakeFirst()
      return row ? toGrantRecord(row) : null
    },
    async listGrants({ bundleId, kind, testerId }) {
      let query = select().where('access_grants.bundle_id', '=', bundleId)
      if (kind !== undefined) query = query.where('access_grants.kind', '=', kind)
      if (testerId !== undefined) query = query.where('access_grants.tester_id', '=', testerId)
      const rows = await query.orderBy('access_grants.created_at', 'desc').orderBy('access_grants.id', 'desc').execute()
      return rows.map(toGrantRecord)
    },
    async revokeGrant(id) {
      const result = await db.updateTable('access_grants').set({ revoked_at: ctx.now().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
    async revokeTesterGrants(bundleId, testerId) {
      const result = await db
        .updateTable('access_grants')
        .set({ revoked_at: ctx.now().toISOString() })
        .where('bundle_id', '=', bundleId)
        .where('tester_id', '=', testerId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },
    async setPassword(scope, passwordHash) {
      const id = ctx.newId()
      const now = ctx.now().toISOString()
      await db.transaction().execute(async (trx) => {
        await scoped(trx.updateTable('access_grants').set({ revoked_at: now }).where('bundle_id', '=', scope.bundleId).where('kind', '=', 'password').where('revoked_at', 'is', null), scope).execute()
        await trx
          .insertInto('access_grants')
          .values({
            id, bundle_id: scope.bundleId, channel: scope.channel, kind: 'password', tester_id: null, secret_hash: null, password_hash: passwordHash,
            created_at: now, expires_at: null, revoked_at: null, last_used_at: null,
          })
          .execute()
      })
      return (await this.getGrant(id))!
    },
    async clearPassword(scope) {
      const result = await scoped(
        db.updateTable('access_grants').set({ revoked_at: ctx.now().toISOString() }).where('bundle_id', '=', scope.bundleId).where('kind', '=', 'password').where('revoked_at', 'is', null),
        scope,
      ).executeTakeFirst()
      return Number(result.numUpdatedRows)
    },
    async passwordGrant(scope) {
      const query = select().where('access_grants.bundle_id', '=', scope.bundleId).where('access_grants.kind', '=', 'password').where('access_grants.revoked_at', 'is', null)
      const row = await (scope.channel === null ? query.where('access_grants.channel', 'is', null) : query.where('access_grants.channel', '=', scope.channel))
        .orderBy('access_grants.created_at', 'desc')
        .executeTakeFirst()
      return row?.password_hash ? { grant: toGrantRecord(row), passwordHash: row.password_hash } : null
    },
  }
}

/** SHA-256 of a personal link's secret: what the database keeps. */
function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

function toGrantRecord(row: Selectable<AccessGrantsTable> & { tester_name: string | null; tester_email: string | null }): GrantRecord {
  return {
    id: row.id,
    kind: row.kind === 'password' ? 'password' : 'invite',
    bundleId: row.bundle_id,
    channel: row.channel,
    testerId: row.tester_id,
    tester: row.tester_id && row.tester_name !== null && row.tester_email !== null ? { id: row.tester_id, name: row.tester_name, email: row.tester_email } : null,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  }
}
