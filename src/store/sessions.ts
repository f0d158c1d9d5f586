import { sql, type Kysely } from 'kysely'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import type { SessionRecord, UserRecord } from './accounts.ts'

/** Stores a new session under the hash of its id. */
export async function createSession(db: Kysely<Database>, ctx: StoreContext, input: { idHash: string; userId: string; expiresAt: string }): Promise<void> {
  const at = ctx.now().toISOString()
  await db.insertInto('sessions').values({ id_hash: input.idHash, user_id: input.userId, created_at: at, last_seen_at: at, expires_at: input.expiresAt }).execute()
}

/** The session with this id hash and its user, whether or not it has expired (the caller decides). */
export async function findSession(db: Kysely<Database>, idHash: string): Promise<{ session: SessionRecord; user: UserRecord } | null> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id_hash', 'sessions.user_id', 'sessions.created_at as session_created_at', 'sessions.last_seen_at', 'sessions.expires_at',
      'users.email', 'users.name', 'users.role', 'users.created_at', 'users.updated_at', 'users.last_login_at',
    ])
    .where('sessions.id_hash', '=', idHash)
    .executeTakeFirst()
  if (!row) return null
  return {
    session: { idHash: row.id_hash, userId: row.user_id, createdAt: row.session_created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at },
    user: { id: row.user_id, email: row.email, name: row.name, role: row.role as UserRecord['role'], createdAt: row.created_at, updatedAt: row.updated_at, lastLoginAt: row.last_login_at },
  }
}

export async function touchSession(db: Kysely<Database>, idHash: string, lastSeenAt: string): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: lastSeenAt }).where('id_hash', '=', idHash).execute()
}

export async function deleteSession(db: Kysely<Database>, idHash: string): Promise<boolean> {
  const result = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** Removes sessions past their absolute end or idle since before `idleBefore`; returns how many. */
export async function pruneSessions(db: Kysely<Database>, ctx: StoreContext, idleBefore: string): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', ctx.now().toISOString()), eb('last_seen_at', '<', idleBefore)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Failed sign-ins under `key` since `windowStart` (0 when its window began earlier). */
export async function loginFailures(db: Kysely<Database>, key: string, windowStart: string): Promise<number> {
  const row = await db.selectFrom('login_throttle').select('failures').where('key', '=', key).where('window_started_at', '>=', windowStart).executeTakeFirst()
  return row ? Number(row.failures) : 0
}

/**
 * Counts one failed sign-in under `key`: a counter that starts again when its window is older than
 * `windowStart`. One upsert, so concurrent failures (and instances sharing PostgreSQL) all count.
 */
export async function recordLoginFailure(db: Kysely<Database>, ctx: StoreContext, key: string, windowStart: string): Promise<number> {
  const at = ctx.now().toISOString()
  const row = await db
    .insertInto('login_throttle')
    .values({ key, failures: 1, window_started_at: at })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        failures: sql<number>`case when login_throttle.window_started_at < ${windowStart} then 1 else login_throttle.failures + 1 end`,
        window_started_at: sql<string>`case when login_throttle.window_started_at < ${windowStart} then ${at} else login_throttle.window_started_at end`,
      }),
    )
    .returning('failures')
    .executeTakeFirstOrThrow()
  // Stale counters are useless: drop them now and then (here, so nothing else needs scheduling).
  await db.deleteFrom('login_throttle').where('window_started_at', '<', windowStart).execute()
  return Number(row.failures)
}

export async function clearLoginFailures(db: Kysely<Database>, key: string): Promise<void> {
  await db.deleteFrom('login_throttle').where('key', '=', key).execute()
}
