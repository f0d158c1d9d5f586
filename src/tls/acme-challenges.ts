import { createSecureContext, type SecureContext } from 'node:tls'

/** Where HTTP-01 puts its answers (RFC 8555 §8.3). */
export const HTTP_CHALLENGE_PREFIX = '/.well-known/acme-challenge/'

/** How long a shared HTTP-01 answer is kept when its order never cleans up (a crash mid-order). */
export const SHARED_HTTP_ANSWER_TTL_MS = 60 * 60 * 1000

/**
 * HTTP-01 answers kept where every instance sharing the database can read them: behind a load
 * balancer the CA's validation request reaches any instance, not only the one that ordered.
 */
export interface SharedHttpChallenges {
  put(token: string, keyAuthorization: string, expiresAt: Date): Promise<void>
  /** The key authorization for `token` while it has not expired, or null. */
  get(token: string): Promise<string | null>
  delete(token: string): Promise<void>
}

/**
 * The answers to ACME challenges while an order is open: HTTP-01 key authorizations by token
 * (served on the plain-HTTP port) and TLS-ALPN-01 certificates by domain (presented on the HTTPS
 * port to a client that offers only the `acme-tls/1` protocol, RFC 8737). In memory, and for
 * HTTP-01 also in `shared` when instances share a database. Nothing secret is in an answer.
 */
export interface ChallengeResponder {
  /** Resolves once the answer can be served (by every instance, when shared). */
  setHttp(token: string, keyAuthorization: string): Promise<void>
  deleteHttp(token: string): Promise<void>
  /** The body for a GET of `path` (a challenge URL) from this instance's memory, or null. */
  httpAnswer(path: string): string | null
  /** The same, also asking the shared store when this instance did not place the order. */
  httpAnswerAnywhere(path: string): Promise<string | null>
  setTlsAlpn(domain: string, certPem: string, keyPem: string): void
  deleteTlsAlpn(domain: string): void
  /** The self-signed challenge certificate for `domain`, while its challenge is open. */
  tlsAlpnContext(domain: string): SecureContext | undefined
}

export function createChallengeResponder(shared: SharedHttpChallenges | null = null, now: () => Date = () => new Date()): ChallengeResponder {
  const http = new Map<string, string>()
  const alpn = new Map<string, SecureContext>()
  // Tokens are base64url (RFC 8555 §8.1): anything else is not ours to answer.
  const tokenOf = (path: string): string | null => {
    if (!path.startsWith(HTTP_CHALLENGE_PREFIX)) return null
    const token = path.slice(HTTP_CHALLENGE_PREFIX.length)
    return /^[A-Za-z0-9_-]{1,256}$/.test(token) ? token : null
  }
  const httpAnswer = (path: string): string | null => {
    const token = tokenOf(path)
    return token === null ? null : (http.get(token) ?? null)
  }
  return {
    async setHttp(token, keyAuthorization) {
      http.set(token, keyAuthorization)
      await shared?.put(token, keyAuthorization, new Date(now().getTime() + SHARED_HTTP_ANSWER_TTL_MS))
    },
    async deleteHttp(token) {
      http.delete(token)
      await shared?.delete(token)
    },
    httpAnswer,
    async httpAnswerAnywhere(path) {
      const local = httpAnswer(path)
      const token = tokenOf(path)
      if (local !== null || token === null || shared === null) return local
      return shared.get(token)
    },
    setTlsAlpn: (domain, certPem, keyPem) => void alpn.set(domain.toLowerCase(), createSecureContext({ cert: certPem, key: keyPem })),
    deleteTlsAlpn: (domain) => void alpn.delete(domain.toLowerCase()),
    tlsAlpnContext: (domain) => alpn.get(domain.toLowerCase()),
  }
}
