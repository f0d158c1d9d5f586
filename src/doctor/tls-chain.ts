import type { X509Certificate } from 'node:crypto'
import type { TrustAnchors } from './trust-store.ts'

/** What doctor reports of a certificate (enough to explain expiry, names, usage and chains). */
export interface CertificateFacts {
  /** One line, e.g. "CN=ota.example.com, O=Example". */
  subject: string
  issuer: string
  notBefore: string
  notAfter: string
  selfIssued: boolean
  isCa: boolean
  dnsNames: string[]
  ipAddresses: string[]
  /** Extended key usage OIDs; null when the extension is absent (any usage). */
  extendedKeyUsage: string[] | null
  /** AIA "CA Issuers" URLs: where the issuer's certificate can be downloaded. */
  caIssuersUrls: string[]
  keyType: string | null
  /** RSA modulus bits, or the EC curve's size. */
  keyBits: number | null
  fingerprint256: string
}

/** Whether the chain leads to a trusted root, ignoring dates (expiry is its own check). */
export type ChainVerdict =
  | { kind: 'trusted'; anchor: 'public' | 'private'; anchorSubject: string; completedBy: string | null }
  | { kind: 'self-signed'; subject: string }
  | { kind: 'unknown-issuer'; subject: string; issuer: string }
  | { kind: 'broken'; message: string }

export interface ChainAnalysis {
  /** Leaf first: as built from what the server presented, the trust anchors and any certificate fetched through AIA. */
  path: X509Certificate[]
  verdict: ChainVerdict
}

const MAX_DEPTH = 10
const EC_CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, 'P-256': 256, 'P-384': 384, 'P-521': 521 }

/**
 * Builds the path from the leaf to a trust anchor the way a client does, preferring anchors, then
 * what the server presented, then `fetched` (certificates downloaded through AIA). Pure (only
 * signature arithmetic): the probe gathers the certificates, this decides.
 */
export function analyzeChain(presented: readonly X509Certificate[], anchors: TrustAnchors, fetched: readonly X509Certificate[] = []): ChainAnalysis {
  const leaf = presented[0]
  if (!leaf) return { path: [], verdict: { kind: 'broken', message: 'the server presented no certificate' } }
  const path = [leaf]
  let current = leaf
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const source = anchors.sourceOf(current)
    if (source) {
      const completedBy = path.find((cert) => fetched.includes(cert))?.subject ?? null
      return { path, verdict: { kind: 'trusted', anchor: source, anchorSubject: oneLine(current.subject), completedBy: completedBy && oneLine(completedBy) } }
    }
    const byName = (cert: X509Certificate): boolean => cert.subject === current.issuer && cert.fingerprint256 !== current.fingerprint256
    const candidates = [...anchors.issuersOf(current), ...presented.filter(byName), ...fetched.filter(byName)]
    const issuer = candidates.find((candidate) => issuedBy(current, candidate))
    if (!issuer) {
      if (isSelfIssued(current)) return { path, verdict: { kind: 'self-signed', subject: oneLine(current.subject) } }
      return { path, verdict: { kind: 'unknown-issuer', subject: oneLine(current.subject), issuer: oneLine(current.issuer) } }
    }
    if (path.some((cert) => cert.fingerprint256 === issuer.fingerprint256)) break
    path.push(issuer)
    current = issuer
  }
  return { path, verdict: { kind: 'broken', message: `no trusted root within ${MAX_DEPTH} certificates` } }
}

/** Subject = issuer and signed by its own key (checkIssued would also demand keyCertSign, which self-signed leaves lack). */
export function isSelfIssued(cert: X509Certificate): boolean {
  try {
    return cert.subject === cert.issuer && cert.verify(cert.publicKey)
  } catch {
    return false
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
  } catch {
    return false
  }
}

export function certificateFacts(cert: X509Certificate): CertificateFacts {
  const names = (cert.subjectAltName ?? '').split(/,\s*/).filter(Boolean)
  const details = cert.publicKey.asymmetricKeyDetails
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    selfIssued: isSelfIssued(cert),
    isCa: cert.ca,
    dnsNames: names.filter((name) => name.startsWith('DNS:')).map((name) => name.slice(4)),
    ipAddresses: names.filter((name) => name.startsWith('IP Address:')).map((name) => name.slice(11)),
    extendedKeyUsage: cert.keyUsage ?? null,
    caIssuersUrls: [...(cert.infoAccess ?? '').matchAll(/CA Issuers - URI:(\S+)/g)].map((match) => match[1]!.replace(/^"|"$/g, '')),
    keyType: cert.publicKey.asymmetricKeyType ?? null,
    keyBits: details?.modulusLength ?? (details?.namedCurve ? (EC_CURVE_BITS[details.namedCurve] ?? null) : null),
    fingerprint256: cert.fingerprint256,
  }
}

/** "CN=a\nO=b" (how Node prints names) → "CN=a, O=b". */
export function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ')
}
