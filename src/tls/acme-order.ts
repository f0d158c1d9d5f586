import { Agent, get as httpsGet } from 'node:https'
import acme from 'acme-client'
import type { ChallengeResponder } from './acme-challenges.ts'
import type { CertificatePair } from './swappable-tls.ts'

/** The challenge types Airstrip can answer, in the order it tries them. */
export const CHALLENGE_TYPES = ['http-01', 'tls-alpn-01'] as const
export type ChallengeType = (typeof CHALLENGE_TYPES)[number]

export interface OrderOptions {
  directoryUrl: string
  domain: string
  email: string | null
  /** The account's private key (PEM) and its URL at the CA when known. */
  account: { keyPem: string; url: string | null }
  challenges: ChallengeResponder
  /** Which challenge types this server can answer (HTTP-01 needs the plain-HTTP port). */
  challengeTypes: readonly ChallengeType[]
  /** PEM roots to trust for the ACME server's own HTTPS; null: the system's. */
  caRootPem: string | null
}

export interface OrderResult extends CertificatePair {
  accountUrl: string
}

/**
 * Orders a certificate for one domain with acme-client: registers the account if needed (agreeing
 * to the CA's terms, as running with --domain implies), answers the challenge through `challenges`
 * and returns the full chain with a fresh ECDSA P-256 key (every iOS release that installs over the
 * air accepts it, and handshakes are cheaper than RSA). Each challenge type is tried in turn: a
 * firewalled port 80 fails HTTP-01, and TLS-ALPN-01 on the HTTPS port may still succeed.
 */
export async function orderCertificate(options: OrderOptions): Promise<OrderResult> {
  configureAcmeHttp(options.directoryUrl, options.caRootPem)
  await assertDirectoryReachable(options.directoryUrl, options.caRootPem)
  const client = new acme.Client({
    directoryUrl: options.directoryUrl,
    accountKey: options.account.keyPem,
    ...(options.account.url ? { accountUrl: options.account.url } : {}),
    // Poll order and challenge status from 1 s up to 10 s apart (the library's default starts at 5 s).
    backoffAttempts: 12,
    backoffMin: 1000,
    backoffMax: 10_000,
  })
  const keyPem = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
  const [, csr] = await acme.crypto.createCsr({ commonName: options.domain, altNames: [options.domain] }, keyPem)
  const failures: string[] = []
  for (const type of options.challengeTypes) {
    try {
      const certPem = await client.auto({
        csr,
        email: options.email ?? undefined,
        termsOfServiceAgreed: true,
        // The CA's validation is the one that counts; a self-check from behind NAT would often lie.
        skipChallengeVerification: true,
        challengePriority: [type],
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          // acme-client's types know only http-01 and dns-01.
          const kind: string = challenge.type
          if (kind === 'http-01') await options.challenges.setHttp(challenge.token, keyAuthorization)
          else if (kind === 'tls-alpn-01') {
            const [alpnKey, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization)
            options.challenges.setTlsAlpn(authz.identifier.value, alpnCert.toString(), alpnKey.toString())
          } else throw new Error(`cannot answer a ${kind} challenge`)
        },
        challengeRemoveFn: async (authz, challenge) => {
          const kind: string = challenge.type
          if (kind === 'http-01') await options.challenges.deleteHttp(challenge.token)
          else if (kind === 'tls-alpn-01') options.challenges.deleteTlsAlpn(authz.identifier.value)
        },
      })
      return { certPem: certPem.endsWith('\n') ? certPem : `${certPem}\n`, keyPem, accountUrl: client.getAccountUrl() }
    } catch (error) {
      failures.push(`${type}: ${describeAcmeError(error)}`)
      // An unreachable CA will not become reachable for another challenge type.
      if (isCaUnreachable(error)) throw new Error(`the ACME server ${options.directoryUrl} cannot be reached: ${describeAcmeError(error)}`, { cause: error })
    }
  }
  throw new Error(`could not get a certificate for ${options.domain} from ${options.directoryUrl} (${failures.join('; ')})`)
}

/** Creates a new ACME account key (ECDSA P-256), PEM. */
export async function createAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
}

/** Reads notBefore/notAfter and names from a PEM chain's leaf (acme-client's parser, to stay in one dialect). */
export function readLeafInfo(certPem: string): { notBefore: Date; notAfter: Date; issuer: string; names: string[] } {
  const info = acme.crypto.readCertificateInfo(certPem)
  return { notBefore: info.notBefore, notAfter: info.notAfter, issuer: info.issuer.commonName, names: [...new Set([info.domains.commonName, ...info.domains.altNames].filter(Boolean))] }
}

/** True for errors reaching the CA at all (network, TLS trust), as opposed to a refused challenge. */
export function isCaUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|ERR_TLS_.*|.*CERT.*|UNABLE_TO_.*|SELF_SIGNED.*|DEPTH_ZERO.*)$/.test(code)) return true
  return error instanceof Error && error.cause !== undefined && isCaUnreachable(error.cause)
}

/**
 * Fetches the directory first, so "the CA cannot be reached" is said plainly: after its retries,
 * acme-client 5.4 turns a network error into a TypeError (its retry interceptor reads
 * `response.config` of a response that never came).
 */
async function assertDirectoryReachable(directoryUrl: string, caRootPem: string | null): Promise<void> {
  const reason = await new Promise<string | null>((resolve) => {
    const request = httpsGet(directoryUrl, { ...(caRootPem ? { ca: caRootPem } : {}), agent: false, timeout: 15_000 }, (response) => {
      response.resume()
      resolve(response.statusCode === 200 ? null : `HTTP ${response.statusCode}`)
    })
    request.on('timeout', () => request.destroy(new Error('no answer within 15 s')))
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ? `${error.code} ${error.message}` : error.message))
  })
  if (reason !== null) throw new Error(`the ACME server ${directoryUrl} cannot be reached: ${reason}`)
}

function describeAcmeError(error: unknown): string {
  if (error instanceof TypeError && /reading 'config'/.test(error.message)) return 'the connection to the ACME server failed mid-order'
  if (error instanceof Error) return error.message.replace(/\s+/g, ' ').slice(0, 500)
  return String(error).slice(0, 500)
}

const trustedOrigins = new Map<string, Agent>()
let interceptorInstalled = false

/**
 * acme-client talks through one module-wide axios instance. Airstrip sets it up once: a timeout
 * (axios has none, and a hung CA must not stall renewals forever), short retries (the renewal
 * scheduler retries on its own), and, for a private CA, an agent trusting `caRootPem` for that
 * directory's origin only, so a custom root never applies to another CA.
 */
function configureAcmeHttp(directoryUrl: string, caRootPem: string | null): void {
  const settings = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }
  settings.timeout = 30_000
  settings.acmeSettings.retryMaxAttempts = 2
  settings.acmeSettings.retryDefaultDelay = 1
  if (caRootPem === null) return
  trustedOrigins.set(new URL(directoryUrl).origin, new Agent({ ca: caRootPem, keepAlive: false }))
  if (interceptorInstalled) return
  interceptorInstalled = true
  acme.axios.interceptors.request.use((request) => {
    const agent = request.url ? trustedOrigins.get(new URL(request.url).origin) : undefined
    if (agent) request.httpsAgent = agent
    return request
  })
}
