import { X509Certificate } from 'node:crypto'
import { getCACertificates } from 'node:tls'
import { AirstripError } from '../errors.ts'

/**
 * The certificates a device would trust, approximately: the operating system's roots plus Node's
 * bundled Mozilla roots (close to Apple's public set), plus private CAs the user names with
 * `--ca-file` (a tester's phone trusts those only after installing and enabling the CA profile).
 */
export interface TrustStore {
  /** PEMs to verify TLS against. */
  pems: string[]
  /** The `--ca-file` certificates alone. */
  extraPems: string[]
  /** Parsed anchors for chain analysis (parsed on first use: ~700 certificates). */
  anchors(): TrustAnchors
}

export interface TrustAnchors {
  /** 'public' for system/bundled roots, 'private' for `--ca-file` ones, null when not an anchor. */
  sourceOf(cert: X509Certificate): 'public' | 'private' | null
  /** Anchors whose subject is `cert`'s issuer (candidates; the caller checks the signature). */
  issuersOf(cert: X509Certificate): X509Certificate[]
}

let publicPems: string[] | null = null

function loadPublicPems(): string[] {
  publicPems ??= [...new Set([...getCACertificates('system'), ...getCACertificates('bundled')])]
  return publicPems
}

export function createTrustStore(extraPems: readonly string[] = []): TrustStore {
  const publicRoots = loadPublicPems()
  let anchors: TrustAnchors | null = null
  return {
    pems: [...publicRoots, ...extraPems],
    extraPems: [...extraPems],
    anchors() {
      anchors ??= indexAnchors(publicRoots, extraPems)
      return anchors
    },
  }
}

function indexAnchors(publicRoots: readonly string[], extraPems: readonly string[]): TrustAnchors {
  const bySubject = new Map<string, X509Certificate[]>()
  const source = new Map<string, 'public' | 'private'>()
  const add = (pem: string, from: 'public' | 'private'): void => {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(pem)
    } catch {
      return // a system bundle may hold a certificate OpenSSL cannot parse; it cannot anchor anything then
    }
    source.set(cert.fingerprint256, source.get(cert.fingerprint256) === 'public' ? 'public' : from)
    bySubject.set(cert.subject, [...(bySubject.get(cert.subject) ?? []), cert])
  }
  publicRoots.forEach((pem) => add(pem, 'public'))
  extraPems.forEach((pem) => add(pem, 'private'))
  return {
    sourceOf: (cert) => source.get(cert.fingerprint256) ?? null,
    issuersOf: (cert) => bySubject.get(cert.issuer) ?? [],
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g

/** The certificates in a PEM file (`--ca-file`); `usage-error` when it holds none or an unreadable one. */
export function readPemCertificates(text: string, what: string): string[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) throw new AirstripError('usage-error', `${what} contains no PEM certificate ("-----BEGIN CERTIFICATE-----")`)
  for (const block of blocks) {
    try {
      new X509Certificate(block)
    } catch (error) {
      throw new AirstripError('usage-error', `${what} holds a certificate that cannot be read: ${(error as Error).message}`)
    }
  }
  return blocks
}
