import type { TlsState } from '../tls/tls-state.ts'

/** One line of /readyz. */
export interface ReadinessCheck {
  name: 'database' | 'blob-store' | 'disk' | 'certificate'
  ok: boolean
  detail: string
}

/** What /readyz answers: ready only when every check passes; warnings never make it fail. */
export interface ReadinessReport {
  ready: boolean
  checks: ReadinessCheck[]
  warnings: string[]
}

const DAY_MS = 24 * 60 * 60 * 1000

/** Free space on the data dir's file system against the configured floor. */
export function checkDisk(freeBytes: number, minFreeBytes: number): ReadinessCheck {
  const ok = freeBytes >= minFreeBytes
  return { name: 'disk', ok, detail: `${formatGiB(freeBytes)} free${ok ? '' : `, below the ${formatGiB(minFreeBytes)} floor (--min-free-disk): uploads may fail`}` }
}

/**
 * The certificate in service: present, not a placeholder, and not about to expire — within 7 days,
 * or a sixth of its lifetime for short-lived ones (renewal starts with a third left, so this means
 * renewal has been failing for a long while). A failing renewal alone is a warning, not a failure:
 * the current certificate still works.
 */
export function checkCertificate(tls: TlsState, insecureHttp: boolean, now: Date): { check: ReadinessCheck; warnings: string[] } {
  const warnings: string[] = []
  const { certificate, renewal } = tls
  if (renewal?.lastError) {
    warnings.push(`certificate renewal failing (${renewal.consecutiveFailures} attempt${renewal.consecutiveFailures === 1 ? '' : 's'} in a row): ${renewal.lastError}`)
  }
  if (certificate === null) {
    const detail = insecureHttp ? 'plain HTTP: TLS must be terminated in front of Airstrip' : 'no certificate'
    return { check: { name: 'certificate', ok: insecureHttp, detail }, warnings }
  }
  if (certificate.source === 'placeholder') {
    return { check: { name: 'certificate', ok: false, detail: 'no trusted certificate yet: serving a self-signed placeholder while one is ordered' }, warnings }
  }
  const remaining = certificate.notAfter.getTime() - now.getTime()
  const lifetime = certificate.notAfter.getTime() - certificate.notBefore.getTime()
  const floor = Math.min(7 * DAY_MS, lifetime / 6)
  const until = `valid until ${certificate.notAfter.toISOString()} (${certificate.source}, issued by ${certificate.issuer})`
  if (remaining <= 0) return { check: { name: 'certificate', ok: false, detail: `expired: ${until}` }, warnings }
  if (remaining < floor) return { check: { name: 'certificate', ok: false, detail: `about to expire: ${until}` }, warnings }
  return { check: { name: 'certificate', ok: true, detail: until }, warnings }
}

/** Puts the checks together. */
export function readinessReport(checks: ReadinessCheck[], warnings: string[]): ReadinessReport {
  return { ready: checks.every((check) => check.ok), checks, warnings }
}

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}
