import type { Kysely } from 'kysely'
import type { Role } from '../accounts/roles.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'
import { clearLoginFailures, createSession, deleteSession, findSession, loginFailures, pruneSessions, recordLoginFailure, touchSession } from './sessions.ts'
import { countAdmins, createUser, deleteUser, findCredentials, getUser, listUsers, recordLogin, updateUser } from './users.ts'

/** A user as the admin UI sees it (never the password hash). */
export interface UserRecord {
  id: string
  email: string
  name: string
  role: Role
  createdAt: string
  updatedAt: string
  lastLoginAt: string | null
}

export interface NewUser {
  email: string
  name: string
  role: Role
  passwordHash: string
}

export interface UserPatch {
  name?: string | undefined
  role?: Role | undefined
  /** A new hash signs the user out everywhere, except the session with this id hash (the one changing it). */
  passwordHash?: string | undefined
  keepSessionHash?: string | undefined
  /** A re-hash of the same password (stronger parameters): sessions stay. */
  sameSecret?: boolean | undefined
}

export interface SessionRecord {
  idHash: string
  userId: string
  createdAt: string
  lastSeenAt: string
  expiresAt: string
}

/**
 * What sign-in and the admin UI need from the database: users, server-side sessions (stored by
 * the hash of their id) and failed-login counters. Shares the MetaStore's database handle (the
 * MetaStore closes it); the queries are portable Kysely, so SQLite and PostgreSQL run the same
 * suite (test/store/account-store.test.ts, ADAPTERS).
 */
export interface AccountStore {
  /** `user-exists` for a known address, `bad-request` for a malformed one. */
  createUser(input: NewUser): Promise<UserRecord>
  /** Creates the user only while no admin exists (first-run setup); null when one already does. */
  createFirstAdmin(input: Omit<NewUser, 'role'>): Promise<UserRecord | null>
  countAdmins(): Promise<number>
  getUser(id: string): Promise<UserRecord | null>
  /** For sign-in only: the user with this address and its password hash. */
  findCredentials(email: string): Promise<{ user: UserRecord; passwordHash: string } | null>
  listUsers(): Promise<UserRecord[]>
  /** `last-admin` when it would demote the only admin. */
  updateUser(id: string, patch: UserPatch): Promise<UserRecord | null>
  /** `last-admin` for the only admin. */
  deleteUser(id: string): Promise<boolean>
  recordLogin(id: string): Promise<void>
  createSession(input: { idHash: string; userId: string; expiresAt: string }): Promise<void>
  findSession(idHash: string): Promise<{ session: SessionRecord; user: UserRecord } | null>
  touchSession(idHash: string, lastSeenAt: string): Promise<void>
  deleteSession(idHash: string): Promise<boolean>
  pruneSessions(idleBefore: string): Promise<number>
  loginFailures(key: string, windowStart: string): Promise<number>
  /** Returns the count in the current window, this failure included. */
  recordLoginFailure(key: string, windowStart: string): Promise<number>
  clearLoginFailures(key: string): Promise<void>
}

/** The AccountStore over the Kysely database opened by `openDatabase`. */
export function createSqlAccountStore(db: Kysely<Database>, options: Partial<StoreContext> = {}): AccountStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  return {
    createUser: async (input) => (await createUser(db, ctx, input))!,
    createFirstAdmin: (input) => createUser(db, ctx, { ...input, role: 'admin' }, true),
    countAdmins: () => countAdmins(db),
    getUser: (id) => getUser(db, id),
    findCredentials: (email) => findCredentials(db, email),
    listUsers: () => listUsers(db),
    updateUser: (id, patch) => updateUser(db, ctx, id, patch),
    deleteUser: (id) => deleteUser(db, id),
    recordLogin: (id) => recordLogin(db, ctx, id),
    createSession: (input) => createSession(db, ctx, input),
    findSession: (idHash) => findSession(db, idHash),
    touchSession: (idHash, lastSeenAt) => touchSession(db, idHash, lastSeenAt),
    deleteSession: (idHash) => deleteSession(db, idHash),
    pruneSessions: (idleBefore) => pruneSessions(db, ctx, idleBefore),
    loginFailures: (key, windowStart) => loginFailures(db, key, windowStart),
    recordLoginFailure: (key, windowStart) => recordLoginFailure(db, ctx, key, windowStart),
    clearLoginFailures: (key) => clearLoginFailures(db, key),
  }
}
