import { randomBytes, timingSafeEqual } from 'node:crypto'
import type * as HashWasm from 'hash-wasm'
import { AirstripError } from '../errors.ts'

/**
 * hash-wasm's argon2id, loaded on the first password hashed or checked, not at start (~1 MiB of
 * heap). Channel passwords (src/access/password-hash.ts) use it too.
 */
export const argon2id = (async (options: Parameters<typeof HashWasm.argon2id>[0]) => (await import('hash-wasm')).argon2id(options)) as typeof HashWasm.argon2id

/**
 * Argon2id parameters from OWASP's Password Storage Cheat Sheet (first recommended set:
 * m = 19 MiB, t = 2, p = 1). hash-wasm runs Argon2 as WebAssembly: no native addon to build.
 */
export const ARGON2_PARAMETERS = { memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32, saltLength: 16 } as const

/** Shortest password accepted (NIST SP 800-63B allows 8; an admin UI deserves more). */
export const PASSWORD_MIN_LENGTH = 12
/** Longest accepted: hashing cost must not grow with what a visitor sends. */
export const PASSWORD_MAX_LENGTH = 256

/** Refuses a password Airstrip won't store (`bad-request`, with the reason). */
export function checkNewPassword(password: string): void {
  const length = [...password].length
  if (length < PASSWORD_MIN_LENGTH) throw new AirstripError('bad-request', `a password needs at least ${PASSWORD_MIN_LENGTH} characters`)
  if (length > PASSWORD_MAX_LENGTH) throw new AirstripError('bad-request', `a password has at most ${PASSWORD_MAX_LENGTH} characters`)
}

/** Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), fresh salt each time. */
export async function hashPassword(password: string): Promise<string> {
  const { saltLength, ...parameters } = ARGON2_PARAMETERS
  return argon2id({ password: password.normalize('NFC'), salt: randomBytes(saltLength), ...parameters, outputType: 'encoded' })
}

/** A PHC string as stored: the parameters to hash with again, and the expected hash. */
interface StoredHash {
  memorySize: number
  iterations: number
  parallelism: number
  salt: Buffer
  hash: Buffer
}

const PHC = /^\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{16,}={0,2})\$([A-Za-z0-9+/]{16,}={0,2})$/

function parseStoredHash(encoded: string): StoredHash | null {
  const match = PHC.exec(encoded)
  if (!match) return null
  const [, m, t, p, salt, hash] = match
  return { memorySize: Number(m), iterations: Number(t), parallelism: Number(p), salt: Buffer.from(salt!, 'base64'), hash: Buffer.from(hash!, 'base64') }
}

/**
 * True when `password` matches the stored PHC string. Hashes again with the stored parameters and
 * compares in constant time (hash-wasm's own argon2Verify compares strings, which can leak
 * timing). A malformed stored hash never matches.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const stored = parseStoredHash(encoded)
  // hash-wasm refuses an empty password; no stored password is empty anyway.
  if (!stored || password === '' || [...password].length > PASSWORD_MAX_LENGTH) return false
  const computed = await argon2id({
    password: password.normalize('NFC'),
    salt: stored.salt,
    memorySize: stored.memorySize,
    iterations: stored.iterations,
    parallelism: stored.parallelism,
    hashLength: stored.hash.length,
    outputType: 'binary',
  })
  return computed.length === stored.hash.length && timingSafeEqual(computed, stored.hash)
}

/** True when a stored hash uses weaker parameters than today's (re-hash it at the next login). */
export function needsRehash(encoded: string): boolean {
  const stored = parseStoredHash(encoded)
  if (!stored) return true
  return stored.memorySize < ARGON2_PARAMETERS.memorySize || stored.iterations < ARGON2_PARAMETERS.iterations || stored.hash.length < ARGON2_PARAMETERS.hashLength
}

/**
 * A stored hash for a password nobody has: login checks unknown addresses against it, so "no such
 * user" takes as long as "wrong password" (no account enumeration by timing).
 */
let dummyHash: Promise<string> | null = null
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('base64url'))
  return dummyHash
}

/** A random password for `airstrip admin create` without one: 20 characters, ~119 bits. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url')
}
