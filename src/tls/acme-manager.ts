import { readFile } from 'node:fs/promises'
import { createChallengeResponder, type ChallengeResponder } from './acme-challenges.ts'
import { CHALLENGE_TYPES, createAccountKey, orderCertificate, type ChallengeType } from './acme-order.ts'
import { generatePlaceholderCertificate } from './acme-placeholder.ts'
import { createAcmeStore, type AcmeStore } from './acme-store.ts'
import { createSwappableTls, type CertificatePair, type SwappableTls } from './swappable-tls.ts'
import { describeCertificate, renewalDueAt, retryDelayMs, type CertificateInfo, type RenewalState, type TlsState, type TlsStateSource } from './tls-state.ts'

/** The subset of a pino logger the manager writes to. */
export interface AcmeLog {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

export interface AcmeSettings {
  domain: string
  email: string | null
  directoryUrl: string
  caRootPath: string | null
  /** `<data dir>/certs` */
  certsDir: string
  /** Whether the plain-HTTP port runs (HTTP-01 is only tried then). */
  httpChallenges: boolean
  now?: () => Date
}

export interface AcmeManager extends TlsStateSource {
  tls: SwappableTls
  challenges: ChallengeResponder
  /**
   * The CA-issued chain and key in service now; null while the self-signed placeholder is served
   * (a profile signed by it would be no more trusted than an unsigned one). Changes on renewal.
   */
  issuedPair(): CertificatePair | null
  /** Starts renewing in the background (at once when there is no usable certificate). */
  start(log: AcmeLog): void
  stop(): void
  /**
   * Runs one order now, whatever the schedule says; resolves true when a new certificate went
   * into service. Never throws: failures are logged and kept in the state.
   */
  renewNow(): Promise<boolean>
}

/** Timers never wait longer than this, so a changed clock or a long sleep is noticed. */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000

/**
 * Automatic HTTPS for one domain: serves the stored certificate (or a self-signed placeholder
 * until the first one arrives), renews it with a third of its lifetime left, writes it to the data
 * dir and swaps it into the running server without a restart. When the CA cannot be reached the
 * current certificate stays in service; the failure is logged at error level on every attempt,
 * kept in `state()` (readiness and metrics report it) and retried with backoff.
 */
export async function prepareAcme(settings: AcmeSettings): Promise<AcmeManager> {
  const now = settings.now ?? (() => new Date())
  const store = createAcmeStore(settings.certsDir, settings.directoryUrl)
  const challenges = createChallengeResponder()
  const stored = await store.readCertificate(settings.domain)
  const initial: CertificatePair = stored ?? (await generatePlaceholderCertificate(settings.domain, now()))
  const tls = createSwappableTls(initial, challenges)
  const caRootPem = settings.caRootPath === null ? null : await readFile(settings.caRootPath, 'utf8')
  const challengeTypes: ChallengeType[] = CHALLENGE_TYPES.filter((type) => type !== 'http-01' || settings.httpChallenges)

  let certificate: CertificateInfo = describeCertificate(initial.certPem, stored ? 'acme' : 'placeholder')
  const renewal: RenewalState = { lastAttemptAt: null, lastSuccessAt: null, lastError: null, consecutiveFailures: 0, nextAttemptAt: null }
  let log: AcmeLog | null = null
  let timer: NodeJS.Timeout | null = null
  let inFlight: Promise<boolean> | null = null
  let stopped = false

  const lifetimeMs = (): number | null =>
    certificate.source === 'placeholder' ? null : certificate.notAfter.getTime() - certificate.notBefore.getTime()

  const schedule = (): void => {
    if (stopped) return
    if (timer) clearTimeout(timer)
    const at = renewal.consecutiveFailures > 0
      ? new Date((renewal.lastAttemptAt ?? now()).getTime() + retryDelayMs(renewal.consecutiveFailures, lifetimeMs()))
      : certificate.source === 'placeholder' ? now() : renewalDueAt(certificate)
    renewal.nextAttemptAt = at
    const wait = Math.max(0, Math.min(at.getTime() - now().getTime(), MAX_TIMER_MS))
    timer = setTimeout(() => {
      timer = null
      if (now().getTime() >= at.getTime()) void attempt().finally(schedule)
      else schedule()
    }, wait)
    timer.unref()
  }

  const attempt = (): Promise<boolean> => {
    inFlight ??= order().finally(() => (inFlight = null))
    return inFlight
  }

  const order = async (): Promise<boolean> => {
    renewal.lastAttemptAt = now()
    try {
      const account = await loadOrCreateAccount(store)
      const result = await orderCertificate({ directoryUrl: settings.directoryUrl, domain: settings.domain, email: settings.email, account, challenges, challengeTypes, caRootPem })
      if (result.accountUrl !== account.url) await store.writeAccountUrl(result.accountUrl)
      const pair = { certPem: result.certPem, keyPem: result.keyPem }
      const info = describeCertificate(pair.certPem, 'acme')
      // Stored before it is served: a restart right after a renewal picks up the new certificate.
      await store.writeCertificate(settings.domain, pair)
      if (stopped) return false
      tls.swap(pair)
      certificate = info
      Object.assign(renewal, { lastSuccessAt: now(), lastError: null, consecutiveFailures: 0 })
      log?.info({ domain: settings.domain, issuer: info.issuer, notAfter: info.notAfter.toISOString(), renewAt: renewalDueAt(info).toISOString() }, 'TLS certificate obtained and in service')
      return true
    } catch (error) {
      renewal.consecutiveFailures++
      renewal.lastError = error instanceof Error ? error.message : String(error)
      const keeping = certificate.source === 'placeholder' ? 'still no trusted certificate: iOS will refuse to install until one is obtained' : `keeping the current certificate, valid until ${certificate.notAfter.toISOString()}`
      log?.error(
        { domain: settings.domain, directoryUrl: settings.directoryUrl, failures: renewal.consecutiveFailures, err: { message: renewal.lastError } },
        `TLS CERTIFICATE RENEWAL FAILED for ${settings.domain}; ${keeping}. Check that ${settings.domain} points at this server, that ports 80/443 are reachable from the internet, and that the CA is up.`,
      )
      return false
    }
  }

  return {
    tls,
    challenges,
    state: (): TlsState => ({ certificate, renewal: { ...renewal } }),
    issuedPair: () => (certificate.source === 'acme' ? tls.current() : null),
    start(logger) {
      log = logger
      stopped = false
      if (certificate.source === 'placeholder') {
        log.warn({ domain: settings.domain }, `no certificate for ${settings.domain} yet: serving a self-signed placeholder while one is ordered from ${settings.directoryUrl}`)
      }
      schedule()
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
    },
    async renewNow() {
      const result = await attempt()
      schedule()
      return result
    },
  }
}

/** The stored account, or a new key (stored before any request, so a crash never orphans an account). */
async function loadOrCreateAccount(store: AcmeStore): Promise<{ keyPem: string; url: string | null }> {
  const existing = await store.readAccount()
  if (existing) return existing
  const keyPem = await createAccountKey()
  await store.writeAccountKey(keyPem)
  return { keyPem, url: null }
}
