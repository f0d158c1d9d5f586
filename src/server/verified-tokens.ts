import { timingSafeEqual } from 'node:crypto'
import { MAX_TOKEN_LENGTH, type TokenPurpose, type UrlSigner, type VerifiedToken } from '../ota/url-token.ts'

/** Tokens remembered at most (~300 bytes each); the one verified longest ago goes first. */
const MAX_ENTRIES = 2048

/** Verifies tokens like `UrlSigner.verify`, skipping the HMAC for a token it has verified before. */
export interface VerifiedTokens {
  verify(token: string, purpose: TokenPurpose): VerifiedToken
}

/**
 * The installer fetches the same manifest link again and again (every device of a team, every
 * retry), and the HMAC behind each check cost more than the rest of serving a cached manifest
 * (measured: ~7 µs of ~38 µs per request). This remembers the tokens that verified, keyed by their
 * signed part (which is public: it is in the URL), with the MAC that goes with it: a token whose
 * signed part is known passes when its MAC is that one (compared in constant time, like the
 * signer's) and it has not expired by the signer's clock. Anything else — unknown, different MAC,
 * expired, wrong purpose — goes to the signer, which gives the usual answer and error. Only tokens
 * that verified are kept, so requests with made-up tokens cannot fill it.
 */
export function createVerifiedTokens(signer: UrlSigner, now: () => Date): VerifiedTokens {
  const entries = new Map<string, { purpose: TokenPurpose; mac: Buffer; claim: VerifiedToken; expiresMs: number }>()
  return {
    verify(token, purpose) {
      const dot = token.length <= MAX_TOKEN_LENGTH ? token.lastIndexOf('.') : -1
      const signed = dot > 0 ? token.slice(0, dot) : null
      const known = signed === null ? undefined : entries.get(signed)
      if (known && known.purpose === purpose && now().getTime() < known.expiresMs) {
        const given = Buffer.from(token.slice(dot + 1), 'latin1')
        if (given.length === known.mac.length && timingSafeEqual(given, known.mac)) return known.claim
      }
      const claim = signer.verify(token, purpose)
      if (signed !== null) {
        entries.delete(signed)
        entries.set(signed, { purpose, mac: Buffer.from(token.slice(dot + 1), 'latin1'), claim: Object.freeze(claim), expiresMs: claim.expiresAt.getTime() })
        if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string)
      }
      return claim
    },
  }
}
