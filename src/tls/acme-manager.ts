import { readFile } from 'node:fs/promises'
import { createChallengeResponder, type ChallengeResponder } from './acme-challenges.ts'
import { CHALLENGE_TYPES, createAccountKey, orderCertificate, type ChallengeType } from './acme-order.ts'
import { generatePlaceholderCertificate } from './acme-placeholder.ts'
import { createAcmeStore, type AcmeStore, type SharedAcmeState } from './acme-store.ts'
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
  /**
   * Instances sharing PostgreSQL: account, certificate and HTTP-01 answers in the database instead
   * of `certsDir`, one order at a time across instances, and a poll for certificates others renewed.
   */
  shared?: SharedAcmeState
  /** How often a shared instance looks for a certificate renewed by another (default 60 s). */
  pollIntervalMs?: number
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
/** How often instances sharing a database look for a certificate another one renewed. */
export const DEFAULT_POLL_INTERVAL_MS = 60_000

/**
 * Automatic HTTPS for one domain: serves the stored certificate (or a self-signed placeholder
 * until the first one arrives), renews it with a third of its lifetime left, stores it and swaps
 * it into the running server without a restart. When the CA cannot be reached the current
 * certificate stays in service; the failure is logged at error level on every attempt, kept in
 * `state()` (readiness and metrics report it) and retried with backoff.
 *
 * With `shared` (several instances on one database) a renewal runs exactly once: an instance
 * orders only while holding the cluster-wide lock, and first re-reads the database (another may
 * have just renewed: that certificate is served instead). An instance that finds the lock taken
 * skips; every instance polls the database and swaps in a certificate another one stored.
 */
export async function prepareAcme(settings: AcmeSettings): Promise<AcmeManager> {
  const now = settings.now ?? (() => new Date())
  const shared = settings.shared ?? null
  const pollIntervalMs = settings.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
  const store = shared?.store ?? createAcmeStore(settings.certsDir, settings.directoryUrl)
  const challenges = createChallengeResponder(shared?.httpChallenges ?? null, now)
  const stored = await store.readCertificate(settings.domain)
  const initial: CertificatePair = stored ?? (await generatePlaceholderCertificate(settings.domain, now()))
  const tls = createSwappableTls(initial, challenges)
  const caRootPem = settings.caRootPath === null ? null : await readFile(settings.caRootPath, 'utf8')
  const challengeTypes: ChallengeType[] = CHALLENGE_TYPES.filter((type) => type !== 'http-01' || settings.httpChallenges)

  let certificate: CertificateInfo = describeCertificate(initial.certPem, stored ? 'acme' : 'placeholder')
  const renewal: RenewalState = { lastAttemptAt: null, lastSuccessAt: null, lastError: null, consecutiveFailures: 0, nextAttemptAt: null }
  let log: AcmeLog | null = null
  let timer: NodeJS.Timeout | null = null
  let poller: NodeJS.Timeout | null = null
  let inFlight: Promise<boolean> | null = null
  let stopped = false
  /** Another instance held the order lock at the last attempt: look again after a poll, not at once. */
  let busy = false

  const lifetimeMs = (): number | null =>
    certificate.source === 'placeholder' ? null : certificate.notAfter.getTime() - certificate.notBefore.getTime()

  const schedule = (): void => {
    if (stopped) return
    if (timer) clearTimeout(timer)
    const at = busy
      ? new Date(now().getTime() + pollIntervalMs)
      : renewal.consecutiveFailures > 0
        ? new Date((renewal.lastAttemptAt ?? now()).getTime() + retryDelayMs(renewal.consecutiveFailures, lifetimeMs()))
        : certificate.source === 'placeholder' ? now() : renewalDueAt(certificate)
    renewal.nextAttemptAt = at
    const wait = Math.max(0, Math.min(at.getTime() - now().getTime(), MAX_TIMER_MS))
    timer = setTimeout(() => {
      timer = null
      if (now().getTime() >= at.getTime()) void attempt(false).finally(schedule)
      else schedule()
    }, wait)
    timer.unref()
  }

  const attempt = (forced: boolean): Promise<boolean> => {
    inFlight ??= run(forced).finally(() => (inFlight = null))
    return inFlight
  }

  /** Orders a certificate and stores it (before it is served: a restart right after a renewal picks it up). */
  const orderAndStore = async (): Promise<CertificatePair> => {
    const account = await loadOrCreateAccount(store)
    const result = await orderCertificate({ directoryUrl: settings.directoryUrl, domain: settings.domain, email: settings.email, account, challenges, challengeTypes, caRootPem })
    if (result.accountUrl !== account.url) await store.writeAccountUrl(result.accountUrl)
    const pair = { certPem: result.certPem, keyPem: result.keyPem }
    await store.writeCertificate(settings.domain, pair)
    return pair
  }

  const serve = (pair: CertificatePair): CertificateInfo => {
    const info = describeCertificate(pair.certPem, 'acme')
    tls.swap(pair)
    certificate = info
    return info
  }

  /**
   * One attempt. Shared: under the order lock, and (unless forced) serving a certificate another
   * instance stored since, when it is not due yet, instead of ordering again.
   */
  const run = async (forced: boolean): Promise<boolean> => {
    renewal.lastAttemptAt = now()
    busy = false
    try {
      let obtained: { pair: CertificatePair; ordered: boolean }
      if (shared === null) obtained = { pair: await orderAndStore(), ordered: true }
      else {
        const outcome = await shared.exclusive(forced, async () => {
          const stored = forced ? null : await store.readCertificate(settings.domain)
          if (stored && renewalDueAt(describeCertificate(stored.certPem, 'acme')).getTime() > now().getTime()) return { pair: stored as CertificatePair, ordered: false }
          return { pair: await orderAndStore(), ordered: true }
        })
        if (outcome === null) {
          busy = true
          log?.info({ domain: settings.domain }, 'another instance is ordering the TLS certificate; it will be picked up from the database')
          return false
        }
        obtained = outcome.value
      }
      if (stopped) return false
      const changed = obtained.pair.certPem !== tls.current().certPem
      const info = serve(obtained.pair)
      Object.assign(renewal, { lastError: null, consecutiveFailures: 0 }, obtained.ordered ? { lastSuccessAt: now() } : {})
      if (obtained.ordered) log?.info({ domain: settings.domain, issuer: info.issuer, notAfter: info.notAfter.toISOString(), renewAt: renewalDueAt(info).toISOString() }, 'TLS certificate obtained and in service')
      else if (changed) log?.info({ domain: settings.domain, notAfter: info.notAfter.toISOString() }, 'TLS certificate renewed by another instance, now in service')
      return changed
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

  /** Shared: swaps in the certificate in the database when another instance stored a new one. */
  const poll = async (): Promise<void> => {
    if (inFlight) return
    try {
      const stored = await store.readCertificate(settings.domain)
      if (stopped || inFlight || stored === null || stored.certPem === tls.current().certPem) return
      const info = serve(stored)
      busy = false
      Object.assign(renewal, { lastError: null, consecutiveFailures: 0 })
      log?.info({ domain: settings.domain, notAfter: info.notAfter.toISOString() }, 'TLS certificate renewed by another instance, now in service')
      schedule()
    } catch (error) {
      log?.warn({ domain: settings.domain, err: { message: error instanceof Error ? error.message : String(error) } }, 'could not look for a renewed TLS certificate in the database')
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
      if (shared && !poller) {
        poller = setInterval(() => void poll(), pollIntervalMs)
        poller.unref()
      }
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      timer = null
      if (poller) clearInterval(poller)
      poller = null
    },
    async renewNow() {
      let result = await attempt(true)
      // It joined a scheduled attempt that found another instance ordering: order now, after that one.
      if (busy) result = await attempt(true)
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
