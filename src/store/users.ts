import type { Kysely, Selectable } from 'kysely'
import { AirstripError } from '../errors.ts'
import type { UsersTable } from './account-tables.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import type { NewUser, UserPatch, UserRecord } from './accounts.ts'

/** Maps a `users` row to the record routes use (never the hash). */
function toUserRecord(row: Selectable<UsersTable>): UserRecord {
  return { id: row.id, email: row.email, name: row.name, role: row.role as UserRecord['role'], createdAt: row.created_at, updatedAt: row.updated_at, lastLoginAt: row.last_login_at }
}

/** E-mail addresses are the sign-in name: trimmed and lower-cased, so "Alice@X" and "alice@x" are one user. */
export function normalizeEmail(value: string): string {
  const email = value.trim().toLowerCase()
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new AirstripError('bad-request', 'an e-mail address like name@example.com is required')
  return email
}

function checkName(value: string): string {
  const name = value.trim().replace(/\s+/g, ' ')
  if (name.length > 200) throw new AirstripError('bad-request', 'a name has at most 200 characters')
  return name
}

/** Inserts a user; `user-exists` for a known address. With `onlyIfNoAdmin`, null when an admin already exists. */
export async function createUser(db: Kysely<Database>, ctx: StoreContext, input: NewUser, onlyIfNoAdmin = false): Promise<UserRecord | null> {
  const email = normalizeEmail(input.email)
  const at = ctx.now().toISOString()
  const row: Selectable<UsersTable> = {
    id: ctx.newId(),
    email,
    name: checkName(input.name) || email,
    role: input.role,
    password_hash: input.passwordHash,
    created_at: at,
    updated_at: at,
    last_login_at: null,
  }
  return db.transaction().execute(async (trx) => {
    if (onlyIfNoAdmin && (await countAdmins(trx)) > 0) return null
    const inserted = await trx.insertInto('users').values(row).onConflict((oc) => oc.column('email').doNothing()).returning('id').executeTakeFirst()
    if (!inserted) throw new AirstripError('user-exists', `a user ${email} already exists`)
    return toUserRecord(row)
  })
}

export async function countAdmins(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).where('role', '=', 'admin').executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function getUser(db: Kysely<Database>, id: string): Promise<UserRecord | null> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? toUserRecord(row) : null
}

/** The user with this address and its password hash (for sign-in only), or null. */
export async function findCredentials(db: Kysely<Database>, email: string): Promise<{ user: UserRecord; passwordHash: string } | null> {
  const row = await db.selectFrom('users').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst()
  return row ? { user: toUserRecord(row), passwordHash: row.password_hash } : null
}

/** Oldest first. */
export async function listUsers(db: Kysely<Database>): Promise<UserRecord[]> {
  const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute()
  return rows.map(toUserRecord)
}

/**
 * Changes a user; refuses (`last-admin`) to demote the last admin, so the server never ends up
 * without someone who can manage users. A new password hash signs out every session of the user.
 */
export async function updateUser(db: Kysely<Database>, ctx: StoreContext, id: string, patch: UserPatch): Promise<UserRecord | null> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    if (!current) return null
    if (patch.role && patch.role !== 'admin' && current.role === 'admin' && (await countAdmins(trx)) <= 1) {
      throw new AirstripError('last-admin', 'this is the only admin; make someone else an admin first')
    }
    const changes: Partial<Selectable<UsersTable>> = { updated_at: ctx.now().toISOString() }
    if (patch.name !== undefined) changes.name = checkName(patch.name) || current.email
    if (patch.role !== undefined) changes.role = patch.role
    if (patch.passwordHash !== undefined) changes.password_hash = patch.passwordHash
    await trx.updateTable('users').set(changes).where('id', '=', id).execute()
    if ((patch.passwordHash !== undefined && !patch.sameSecret) || (patch.role !== undefined && patch.role !== current.role)) {
      await trx.deleteFrom('sessions').where('user_id', '=', id).$if(patch.keepSessionHash !== undefined, (q) => q.where('id_hash', '!=', patch.keepSessionHash!)).execute()
    }
    return toUserRecord({ ...current, ...changes })
  })
}

/** Deletes a user and its sessions; refuses (`last-admin`) the last admin. */
export async function deleteUser(db: Kysely<Database>, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('users').select('role').where('id', '=', id).executeTakeFirst()
    if (!current) return false
    if (current.role === 'admin' && (await countAdmins(trx)) <= 1) throw new AirstripError('last-admin', 'the last admin cannot be deleted')
    await trx.deleteFrom('sessions').where('user_id', '=', id).execute()
    await trx.deleteFrom('users').where('id', '=', id).execute()
    return true
  })
}

export async function recordLogin(db: Kysely<Database>, ctx: StoreContext, id: string): Promise<void> {
  await db.updateTable('users').set({ last_login_at: ctx.now().toISOString() }).where('id', '=', id).execute()
}
