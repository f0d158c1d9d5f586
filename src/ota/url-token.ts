import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto'
import { AirstripError } from '../errors.ts'

/**
 * What a token may unlock. A token signed for one purpose never opens another, so a leaked icon
 * URL cannot be replayed to download the .ipa.
 */
export const TOKEN_PURPOSES = ['manifest', 'ipa', 'icon', 'enroll', 'page'] as const
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number]

/** Longest token `verify` looks at; anything longer is refused before any decoding or hashing. */
export const MAX_TOKEN_LENGTH = 512
/** Shortest secret accepted: HMAC-SHA256 gains nothing from more than 32 bytes, and loses from fewer. */
export const MIN_SECRET_BYTES = 32
/** Subjects are public ids (build ids, enrolment ids): URL-safe, short, no separator characters. */
export const TOKEN_SUBJECT = /^[A-Za-z0-9_-]{1,128}$/

/** A signed claim, once verified. */
export interface VerifiedToken {
  subject: string
  expiresAt: Date
  /** The access grant the link was minted under (src/access): checked against the store on every request. */
  grant: string | null
}

/** Signs and verifies the URLs that iOS fetches without cookies (manifest, .ipa, icon, enrolment). */
export interface UrlSigner {
  /**
   * A token valid `ttlSeconds` from `issuedAt` (default now). An earlier `issuedAt` lets a cached
   * response carry tokens that expire together at a window boundary; a future one is refused, so no
   * token ever lives longer than `ttlSeconds` from the moment it is handed out.
   */
  sign(claim: { purpose: TokenPurpose; subject: string; ttlSeconds: number; issuedAt?: Date; grant?: string }): string
  verify(token: string, purpose: TokenPurpose): VerifiedToken
}

const VERSION = 'v1'
const GRANT_VERSION = 'v2'
const TOKEN_SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/
const EXPIRY = /^[0-9]{1,12}$/

/**
 * Creates the one signer behind every tokenised URL. appstored fetches the manifest, the .ipa and
 * the icons with no Safari cookies and no session (and re-prompts for basic auth on every asset), so
 * the authorisation has to travel inside the URL path: a token is
 * `base64url("v1:<purpose>:<subject>:<expiry unix seconds>") + "." + base64url(HMAC-SHA256)` (v2 appends
 * `:<grant id>` for links minted under an access grant), using
 * only `[A-Za-z0-9._-]` so that it survives iOS decoding the manifest URL once (no `%`, no `+`).
 * The clock and the secret are injected so tests can stand on an expiry boundary.
 */
export function createUrlSigner(options: { secret: Uint8Array; now: () => Date }): UrlSigner {
  if (options.secret.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`URL signing secret must be at least ${MIN_SECRET_BYTES} bytes`)
  }
  // A KeyObject made once: HMAC with a raw Buffer key measured ~20 µs per call on Node 24, ~3 µs with this.
  const secret = createSecretKey(Buffer.from(options.secret))
  const now = options.now
  // The MAC covers the encoded payload exactly as it appears in the URL, so a non-canonical
  // base64url spelling of the same bytes is a different (unsigned) token.
  const mac = (encodedPayload: string): string => createHmac('sha256', secret).update(encodedPayload).digest('base64url')

  return {
    sign({ purpose, subject, ttlSeconds, issuedAt, grant }) {
      if (!isPurpose(purpose)) throw new Error(`unknown token purpose: ${String(purpose)}`)
      if (!TOKEN_SUBJECT.test(subject) || (grant !== undefined && !TOKEN_SUBJECT.test(grant))) throw new Error('token subject and grant must match [A-Za-z0-9_-]{1,128}')
      if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error('ttlSeconds must be a positive integer')
      const nowMs = now().getTime()
      const issuedMs = issuedAt?.getTime() ?? nowMs
      if (!Number.isFinite(issuedMs) || issuedMs > nowMs) throw new Error('issuedAt must be a valid time, not in the future')
      const expiry = Math.floor(issuedMs / 1000) + ttlSeconds
      // v2 = v1 + the grant it was minted under (src/access).
      const payload = grant === undefined ? `${VERSION}:${purpose}:${subject}:${expiry}` : `${GRANT_VERSION}:${purpose}:${subject}:${expiry}:${grant}`
      const encodedPayload = Buffer.from(payload, 'utf8').toString('base64url')
      return `${encodedPayload}.${mac(encodedPayload)}`
    },

    verify(token, purpose) {
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid('too long')
      const shape = TOKEN_SHAPE.exec(token)
      if (!shape) throw invalid('malformed')
      const encodedPayload = shape[1] as string
      const expected = Buffer.from(mac(encodedPayload), 'ascii')
      const given = Buffer.from(shape[2] as string, 'ascii')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('bad signature')

      const fields = Buffer.from(encodedPayload, 'base64url').toString('utf8').split(':')
      const [version, tokenPurpose, subject, expiry, grant] = fields
      const shapeOk = (version === VERSION && fields.length === 4) || (version === GRANT_VERSION && fields.length === 5 && TOKEN_SUBJECT.test(grant ?? ''))
      if (!shapeOk || !subject || !TOKEN_SUBJECT.test(subject) || !expiry || !EXPIRY.test(expiry)) {
        throw invalid('malformed')
      }
      if (tokenPurpose !== purpose) throw invalid('wrong purpose')
      const expiresAt = new Date(Number(expiry) * 1000)
      if (now().getTime() >= expiresAt.getTime()) {
        throw new AirstripError('token-expired', undefined, { details: { purpose, expiresAt: expiresAt.toISOString() } })
      }
      return { subject, expiresAt, grant: grant ?? null }
    },
  }
}

function isPurpose(value: unknown): value is TokenPurpose {
  return (TOKEN_PURPOSES as readonly unknown[]).includes(value)
}

function invalid(reason: string): AirstripError {
  return new AirstripError('token-invalid', `the link is invalid (${reason})`, { details: { reason } })
}
