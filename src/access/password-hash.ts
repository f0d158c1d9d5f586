import { randomBytes, timingSafeEqual } from 'node:crypto'
import { argon2id } from '../accounts/password.ts'
import { AirstripError } from '../errors.ts'

/**
 * argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane): ~50 ms per try here, which together
 * with the rate limit on wrong answers makes guessing a channel password slow.
 */
const PARAMETERS = { memorySize: 19_456, iterations: 2, parallelism: 1, hashLength: 32 } as const
/** Longest password accepted: argon2 takes any length, but a request must not make us hash megabytes. */
export const MAX_PASSWORD_LENGTH = 256
/** Shortest password a channel can be given. */
export const MIN_PASSWORD_LENGTH = 6

const PHC = /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,64})\$([A-Za-z0-9+/]{16,128})$/

/**
 * The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of a new channel password, with a fresh
 * 16-byte salt. Too short or too long: `bad-request`.
 */
export async function hashPassword(password: string): Promise<string> {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AirstripError('bad-request', `a password must be ${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters`)
  }
  return argon2id({ ...PARAMETERS, password, salt: randomBytes(16), outputType: 'encoded' })
}

/**
 * True when `password` matches `encoded`. The hash is recomputed with the stored parameters and
 * compared in constant time (hash-wasm's own `argon2Verify` compares strings with `===`). An
 * over-long password or an unreadable stored hash is simply false.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = PHC.exec(encoded)
  if (!match || password.length > MAX_PASSWORD_LENGTH) return false
  const [, memory, iterations, parallelism, salt, hash] = match as unknown as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64')
  const actual = await argon2id({
    password,
    salt: Buffer.from(salt, 'base64'),
    memorySize: Number(memory),
    iterations: Number(iterations),
    parallelism: Number(parallelism),
    hashLength: expected.length,
    outputType: 'binary',
  })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
