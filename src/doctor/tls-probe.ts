import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { checkServerIdentity, connect, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls'
import { DOCTOR_LIMITS } from './limits.ts'
import type { FetchFailure, Fetcher } from './http-fetch.ts'
import { classifyNetworkError } from './network-errors.ts'
import { analyzeChain, certificateFacts, type CertificateFacts, type ChainVerdict } from './tls-chain.ts'
import type { TrustStore } from './trust-store.ts'

/** What one TLS handshake with an origin showed. */
export interface TlsProbe {
  origin: string
  host: string
  /** When the handshake happened: certificates are judged at this time (the device connects now, whatever --now says). */
  checkedAt: string
  /** The handshake could not be completed at all. */
  failure: FetchFailure | null
  /** Negotiated protocol, e.g. "TLSv1.3"; the probe offers TLS 1.0 and up so old servers show as such. */
  protocol: string | null
  cipher: string | null
  /** OpenSSL's verification result, for the record (the verdict below is doctor's own, date-independent). */
  opensslError: string | null
  /** Why the certificate does not cover the host name, or null. */
  hostnameError: string | null
  /** Leaf first. */
  path: CertificateFacts[]
  verdict: ChainVerdict | null
  /** The AIA "CA Issuers" download tried when the issuer was missing, and what came of it. */
  aia: { url: string; outcome: string } | null
}

/**
 * One handshake with `origin` that accepts any certificate and any protocol from TLS 1.0 up, to
 * see what the server really does; then the chain is judged by `analyzeChain` against the trust
 * store, downloading a missing issuer through AIA as some clients do (a certificate that only
 * works that way has an incomplete chain).
 */
export async function probeTls(origin: string, deps: { trust: TrustStore; fetcher: Fetcher; requestTimeoutMs: number }): Promise<TlsProbe> {
  const url = new URL(origin)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  const probe: TlsProbe = { origin, host, checkedAt: new Date().toISOString(), failure: null, protocol: null, cipher: null, opensslError: null, hostnameError: null, path: [], verdict: null, aia: null }
  const handshake = await new Promise<{ peer: DetailedPeerCertificate; protocol: string | null; cipher: string; error: string | null } | FetchFailure>((resolve) => {
    const timeoutMs = Math.min(deps.requestTimeoutMs, deps.fetcher.deadline.remaining())
    const socket = connect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      ca: deps.trust.pems,
      rejectUnauthorized: false,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
      ALPNProtocols: ['http/1.1'],
    })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ url: origin, kind: 'timeout', code: 'ETIMEDOUT', message: `no TLS handshake within ${Math.round(timeoutMs / 100) / 10} s`, bytesReceived: 0 })
    }, timeoutMs)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      const result = {
        peer: socket.getPeerCertificate(true),
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        error: socket.authorizationError ? String((socket.authorizationError as NodeJS.ErrnoException).code ?? socket.authorizationError) : null,
      }
      socket.destroy()
      resolve(result)
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      const [kind, message, code] = classifyNetworkError(error, url)
      resolve({ url: origin, kind, code, message, bytesReceived: 0 })
    })
  })
  if ('kind' in handshake) return { ...probe, failure: handshake }

  probe.protocol = handshake.protocol
  probe.cipher = handshake.cipher
  probe.opensslError = handshake.error
  probe.hostnameError = checkServerIdentity(host, handshake.peer as PeerCertificate)?.message ?? null
  const presented = peerChain(handshake.peer)
  const anchors = deps.trust.anchors()
  let analysis = analyzeChain(presented, anchors)
  if (analysis.verdict.kind === 'unknown-issuer') {
    const last = analysis.path.at(-1)!
    const aiaUrl = certificateFacts(last).caIssuersUrls[0]
    if (aiaUrl) {
      const fetched = await fetchIssuer(aiaUrl, deps.fetcher)
      probe.aia = { url: aiaUrl, outcome: typeof fetched === 'string' ? fetched : `downloaded "${certificateFacts(fetched).subject}"` }
      if (typeof fetched !== 'string') analysis = analyzeChain(presented, anchors, [fetched])
    }
  }
  probe.path = analysis.path.map(certificateFacts)
  probe.verdict = analysis.verdict
  return probe
}

/** The certificates as Node chained them (what the server sent, plus the root from the store when found). */
function peerChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = []
  const seen = new Set<string>()
  let current: DetailedPeerCertificate | undefined = peer
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256)
    try {
      chain.push(new X509Certificate(current.raw))
    } catch {
      break
    }
    current = current.issuerCertificate
  }
  return chain
}

async function fetchIssuer(url: string, fetcher: Fetcher): Promise<X509Certificate | string> {
  const result = await fetcher.fetch(url, { body: 'all', maxBytes: DOCTOR_LIMITS.aiaCertificateBytes })
  if (!result.ok) return `download failed: ${result.failure.message}`
  if (result.response.status !== 200 || !result.response.body) return `download answered ${result.response.status}`
  try {
    return new X509Certificate(result.response.body)
  } catch {
    return 'the download is not a certificate (DER or PEM)'
  }
}
