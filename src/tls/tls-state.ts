import { X509Certificate } from 'node:crypto'

/** Where the certificate in service came from. `placeholder`: automatic HTTPS has none yet. */
export type CertificateSource = 'acme' | 'files' | 'dev' | 'placeholder'

/** The certificate in service, as readiness checks and metrics see it. */
export interface CertificateInfo {
  source: CertificateSource
  names: string[]
  issuer: string
  notBefore: Date
  notAfter: Date
}

/** How automatic renewal is going (absent for certificates Airstrip does not renew). */
export interface RenewalState {
  lastAttemptAt: Date | null
  lastSuccessAt: Date | null
  /** The last attempt's error while it is unresolved; null once a renewal succeeds. */
  lastError: string | null
  consecutiveFailures: number
  nextAttemptAt: Date | null
}

export interface TlsState {
  certificate: CertificateInfo | null
  renewal: RenewalState | null
}

/** Something that can tell the TLS state at any moment (the ACME manager, or a fixed certificate). */
export interface TlsStateSource {
  state(): TlsState
}

/** For certificates that do not change while the server runs (--tls-cert, --dev-tls, plain HTTP). */
export function fixedTlsState(certPem: string | null, source: CertificateSource): TlsStateSource {
  const certificate = certPem === null ? null : describeCertificate(certPem, source)
  return { state: () => ({ certificate, renewal: null }) }
}

/** The leaf of a PEM chain as a CertificateInfo. */
export function describeCertificate(certPem: string, source: CertificateSource): CertificateInfo {
  const leaf = new X509Certificate(certPem)
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
  const issuer = /(?:^|\n)CN=([^\n]*)/.exec(leaf.issuer)?.[1] ?? leaf.issuer
  return { source, names, issuer, notBefore: leaf.validFromDate, notAfter: leaf.validToDate }
}

/** When an ACME certificate is due for renewal: with a third of its lifetime left (what certbot and Caddy do). */
export function renewalDueAt(certificate: Pick<CertificateInfo, 'notBefore' | 'notAfter'>): Date {
  const lifetime = certificate.notAfter.getTime() - certificate.notBefore.getTime()
  return new Date(certificate.notAfter.getTime() - lifetime / 3)
}

/**
 * How long to wait after the `failures`-th failed attempt in a row: doubling from a base that
 * scales with the certificate's lifetime (hours for 90-day certificates, a second for the minute-
 * long ones of a test CA), capped so a CA outage is retried at least hourly. Without any
 * certificate, start at 30 s: every minute without one is a minute of failed installs.
 */
export function retryDelayMs(failures: number, lifetimeMs: number | null): number {
  const base = lifetimeMs === null ? 30_000 : clamp(lifetimeMs / 100, 1000, 10 * 60_000)
  const cap = lifetimeMs === null ? 60 * 60_000 : clamp(lifetimeMs / 12, 1000, 60 * 60_000)
  return Math.min(cap, base * 2 ** Math.max(0, Math.min(failures - 1, 20)))
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value))
}
