import { AirstripError } from '../errors.ts'
import type { AccountStore, SessionRecord, UserRecord } from '../store/accounts.ts'
import { checkNewPassword, dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password.ts'
import type { Role } from './roles.ts'
import { hashSessionId, isSecretShaped, newSecret, safeEqual } from './secrets.ts'

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000
/** …and this long after sign-in, whatever the activity. */
export const SESSION_MAX_MS = 7 * 24 * 60 * 60 * 1000
/** `last_seen_at` is written at most this often (not on every page view). */
const TOUCH_EVERY_MS = 60 * 1000

/** Failed sign-ins allowed per window, per account and per client address, before refusing for the rest of it. */
export const LOGIN_LIMITS = { windowMs: 15 * 60 * 1000, perAccount: 10, perAddress: 30 } as const

/** A signed-in request's identity. */
export interface ActiveSession {
  /** The cookie's value; CSRF tokens are derived from it. */
  id: string
  idHash: string
  session: SessionRecord
  user: UserRecord
}

export interface AccountService {
  store: AccountStore
  /** The one-time setup token while no admin exists (printed at start), else null. */
  pendingSetupToken(): Promise<string | null>
  /** First-run setup: creates the first admin and signs them in; `setup-unavailable` once an admin exists or for a wrong token. */
  completeSetup(token: string, input: { email: string; name: string; password: string }): Promise<ActiveSession>
  /** `bad-request` for a weak password or bad address, `user-exists`. */
  createUser(input: { email: string; name: string; role: Role; password: string }): Promise<UserRecord>
  /** `too-many-attempts` when the account or address is rate limited, `login-failed` for anything else wrong. */
  login(input: { email: string; password: string; clientAddress: string }): Promise<ActiveSession>
  /** The live session behind a cookie value, or null (absent, malformed, unknown, idle or expired). */
  resume(sessionId: string | undefined): Promise<ActiveSession | null>
  logout(sessionId: string): Promise<void>
  /** Checks the current password; every other session of the user ends. */
  changePassword(active: ActiveSession, current: string, next: string): Promise<void>
  /** Sets a password without the old one (an admin's reset, the CLI); every session of the user ends. */
  setPassword(userId: string, password: string): Promise<UserRecord>
}

export function createAccountService(options: { store: AccountStore; now: () => Date }): AccountService {
  const { store, now } = options
  const setupToken = newSecret()
  let setupRunning = false

  async function openSession(user: UserRecord): Promise<ActiveSession> {
    const id = newSecret()
    const idHash = hashSessionId(id)
    const at = now()
    const expiresAt = new Date(at.getTime() + SESSION_MAX_MS).toISOString()
    await store.createSession({ idHash, userId: user.id, expiresAt })
    await store.pruneSessions(new Date(at.getTime() - SESSION_IDLE_MS).toISOString())
    return { id, idHash, user, session: { idHash, userId: user.id, createdAt: at.toISOString(), lastSeenAt: at.toISOString(), expiresAt } }
  }

  return {
    store,
    async pendingSetupToken() {
      return (await store.countAdmins()) === 0 ? setupToken : null
    },

    async completeSetup(token, input) {
      if (!safeEqual(setupToken, token) || setupRunning) throw new AirstripError('setup-unavailable')
      checkNewPassword(input.password)
      setupRunning = true
      try {
        const user = await store.createFirstAdmin({ email: input.email, name: input.name, passwordHash: await hashPassword(input.password) })
        if (!user) throw new AirstripError('setup-unavailable')
        return await openSession(user)
      } finally {
        setupRunning = false
      }
    },

    async createUser(input) {
      checkNewPassword(input.password)
      return store.createUser({ email: input.email, name: input.name, role: input.role, passwordHash: await hashPassword(input.password) })
    },

    async login(input) {
      const email = input.email.trim().toLowerCase().slice(0, 320)
      const keys = [`user:${email}`, `ip:${input.clientAddress}`]
      const windowStart = new Date(now().getTime() - LOGIN_LIMITS.windowMs).toISOString()
      const [accountFailures, addressFailures] = await Promise.all(keys.map((key) => store.loginFailures(key, windowStart)))
      if (accountFailures! >= LOGIN_LIMITS.perAccount || addressFailures! >= LOGIN_LIMITS.perAddress) throw new AirstripError('too-many-attempts')
      const credentials = await store.findCredentials(email)
      // Unknown addresses are checked against a dummy hash: same cost, so timing tells nothing.
      const valid = await verifyPassword(input.password, credentials?.passwordHash ?? (await dummyPasswordHash()))
      if (!credentials || !valid) {
        for (const key of keys) await store.recordLoginFailure(key, windowStart)
        throw new AirstripError('login-failed')
      }
      await store.clearLoginFailures(keys[0]!)
      if (needsRehash(credentials.passwordHash)) await store.updateUser(credentials.user.id, { passwordHash: await hashPassword(input.password), sameSecret: true })
      await store.recordLogin(credentials.user.id)
      return openSession(credentials.user)
    },

    async resume(sessionId) {
      if (!isSecretShaped(sessionId)) return null
      const idHash = hashSessionId(sessionId)
      const found = await store.findSession(idHash)
      if (!found) return null
      const at = now().getTime()
      const lastSeen = Date.parse(found.session.lastSeenAt)
      if (Date.parse(found.session.expiresAt) <= at || lastSeen + SESSION_IDLE_MS <= at) {
        await store.deleteSession(idHash)
        return null
      }
      if (at - lastSeen >= TOUCH_EVERY_MS) await store.touchSession(idHash, new Date(at).toISOString())
      return { id: sessionId, idHash, ...found }
    },

    async logout(sessionId) {
      if (isSecretShaped(sessionId)) await store.deleteSession(hashSessionId(sessionId))
    },

    async changePassword(active, current, next) {
      const credentials = await store.findCredentials(active.user.email)
      if (!credentials || !(await verifyPassword(current, credentials.passwordHash))) throw new AirstripError('login-failed', 'the current password is wrong')
      checkNewPassword(next)
      await store.updateUser(active.user.id, { passwordHash: await hashPassword(next), keepSessionHash: active.idHash })
    },

    async setPassword(userId, password) {
      checkNewPassword(password)
      const user = await store.updateUser(userId, { passwordHash: await hashPassword(password) })
      if (!user) throw new AirstripError('user-not-found')
      return user
    },
  }
}
