import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Session ids, CSRF tokens and the setup token: random values compared in constant time. The
 * session id lives only in the browser's cookie; the database keeps its SHA-256, so a leaked
 * database (or backup) opens no session.
 */

/** 32 random bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

const SECRET = /^[A-Za-z0-9_-]{43}$/

/** True for strings shaped like `newSecret()` (lets callers skip the database for garbage). */
export function isSecretShaped(value: unknown): value is string {
  return typeof value === 'string' && SECRET.test(value)
}

/** SHA-256 of a session id, hex: what the sessions table stores and looks up. */
export function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId, 'utf8').digest('hex')
}

/**
 * The CSRF token of a session (a synchronizer token bound to it): HMAC-SHA256 keyed by the session
 * id, which only the cookie holds. Nothing to store; a token from another session never verifies.
 */
export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('airstrip admin csrf v1').digest('base64url')
}

/** Constant-time check of a submitted CSRF token against the session's. */
export function verifyCsrfToken(sessionId: string, submitted: unknown): boolean {
  return typeof submitted === 'string' && safeEqual(csrfTokenFor(sessionId), submitted)
}

/** Constant-time string equality (different lengths: false, without comparing). */
export function safeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8')
  const b = Buffer.from(actual, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}
