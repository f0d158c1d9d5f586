import { createSecureContext, type SecureContext } from 'node:tls'

/** Where HTTP-01 puts its answers (RFC 8555 §8.3). */
export const HTTP_CHALLENGE_PREFIX = '/.well-known/acme-challenge/'

/**
 * The answers to ACME challenges while an order is open: HTTP-01 key authorizations by token
 * (served on the plain-HTTP port) and TLS-ALPN-01 certificates by domain (presented on the HTTPS
 * port to a client that offers only the `acme-tls/1` protocol, RFC 8737). In memory only: an
 * answer is useless once its order is done, and nothing secret is in it.
 */
export interface ChallengeResponder {
  setHttp(token: string, keyAuthorization: string): void
  deleteHttp(token: string): void
  /** The body for a GET of `path` (a challenge URL), or null when there is no such challenge. */
  httpAnswer(path: string): string | null
  setTlsAlpn(domain: string, certPem: string, keyPem: string): void
  deleteTlsAlpn(domain: string): void
  /** The self-signed challenge certificate for `domain`, while its challenge is open. */
  tlsAlpnContext(domain: string): SecureContext | undefined
}

export function createChallengeResponder(): ChallengeResponder {
  const http = new Map<string, string>()
  const alpn = new Map<string, SecureContext>()
  return {
    setHttp: (token, keyAuthorization) => void http.set(token, keyAuthorization),
    deleteHttp: (token) => void http.delete(token),
    httpAnswer(path) {
      if (!path.startsWith(HTTP_CHALLENGE_PREFIX)) return null
      const token = path.slice(HTTP_CHALLENGE_PREFIX.length)
      // Tokens are base64url (RFC 8555 §8.1): anything else is not ours to answer.
      return /^[A-Za-z0-9_-]{1,256}$/.test(token) ? (http.get(token) ?? null) : null
    },
    setTlsAlpn: (domain, certPem, keyPem) => void alpn.set(domain.toLowerCase(), createSecureContext({ cert: certPem, key: keyPem })),
    deleteTlsAlpn: (domain) => void alpn.delete(domain.toLowerCase()),
    tlsAlpnContext: (domain) => alpn.get(domain.toLowerCase()),
  }
}
