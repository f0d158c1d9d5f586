/**
 * Row shapes of the account tables (migration 2026-11-26-0005), part of `Database` in database.ts.
 * Times are ISO 8601 UTC with milliseconds (text order is time order).
 */

export interface UsersTable {
  id: string
  /** Lower-cased; the sign-in name. */
  email: string
  name: string
  /** 'admin' | 'developer' | 'viewer' (src/accounts/roles.ts). */
  role: string
  /** Argon2id PHC string (src/accounts/password.ts); never the password. */
  password_hash: string
  created_at: string
  updated_at: string
  last_login_at: string | null
}

export interface SessionsTable {
  /** SHA-256 (hex) of the session id; the id itself lives only in the browser's cookie. */
  id_hash: string
  user_id: string
  created_at: string
  last_seen_at: string
  /** Absolute end, whatever the activity. */
  expires_at: string
}

export interface LoginThrottleTable {
  /** `ip:<address>` or `user:<email>`. */
  key: string
  failures: number
  window_started_at: string
}

export interface AccountTables {
  users: UsersTable
  sessions: SessionsTable
  login_throttle: LoginThrottleTable
}
