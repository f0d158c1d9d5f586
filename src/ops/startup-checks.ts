import { randomBytes } from 'node:crypto'
import { mkdir, open, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config.ts'

/** One finding of the start-up checks: `error` stops `serve`, `warning` is printed and lived with. */
export interface StartupFinding {
  level: 'error' | 'warning'
  message: string
  fix: string
}

/** What the checks look at, gathered by `gatherStartupFacts` (or given by a test). */
export interface StartupFacts {
  now: Date
  /** Why the data dir cannot be written, or null when it can. */
  dataDirProblem: string | null
  /** Modification time of the database file, when there is one: a clock behind it went backwards. */
  databaseModifiedAt: Date | null
}

/** No clock that reads earlier than this is right: this code did not exist yet. */
export const EARLIEST_SANE_TIME = new Date('2026-01-01T00:00:00Z')
const CLOCK_SLACK_MS = 24 * 60 * 60 * 1000

/**
 * The start-up checks, pure: data dir writable, public URL reachable by iOS over HTTPS, clock
 * plausible (signed links, certificate validity and ACME all depend on it). Each finding says what
 * to fix.
 */
export function checkStartup(config: Readonly<Config>, facts: StartupFacts): StartupFinding[] {
  const findings: StartupFinding[] = []
  if (facts.dataDirProblem !== null) {
    findings.push({ level: 'error', message: `the data dir ${config.dataDir} is not writable (${facts.dataDirProblem})`, fix: 'create it, or give the user Airstrip runs as write access to it (--data-dir, AIRSTRIP_DATA_DIR)' })
  }
  const publicUrl = new URL(config.publicUrl)
  if (publicUrl.protocol !== 'https:') {
    findings.push({ level: 'warning', message: `the public URL ${config.publicUrl} is plain HTTP: iOS refuses to install from a manifest that is not served over HTTPS`, fix: 'terminate TLS in front of Airstrip and set --public-url https://…, or use --domain for automatic HTTPS' })
  } else if (config.tls.mode === 'insecure-http' && !config.trustProxy) {
    findings.push({ level: 'warning', message: 'plain HTTP behind an https:// public URL, without --trust-proxy', fix: 'add --trust-proxy when a TLS-terminating proxy is in front, so Airstrip sees the original scheme and host' })
  }
  if (/^(localhost|127\.0\.0\.1|\[::1\])$/.test(publicUrl.hostname) && config.tls.mode !== 'acme') {
    findings.push({ level: 'warning', message: 'the public URL is this machine only', fix: 'set --public-url to an address your testers\' devices can reach' })
  }
  if (config.tls.mode === 'acme' && publicUrl.hostname !== config.tls.domain) {
    findings.push({ level: 'warning', message: `the public URL's host ${publicUrl.hostname} is not --domain ${config.tls.domain}: the certificate will not match the links`, fix: 'drop --public-url (it defaults to https://<domain>) or make its host the domain' })
  }
  if (facts.now.getTime() < EARLIEST_SANE_TIME.getTime()) {
    findings.push({ level: 'error', message: `the system clock reads ${facts.now.toISOString()}, which cannot be right`, fix: 'set the time (e.g. enable NTP: timedatectl set-ntp true); signed links and certificates depend on it' })
  } else if (facts.databaseModifiedAt && facts.databaseModifiedAt.getTime() - facts.now.getTime() > CLOCK_SLACK_MS) {
    findings.push({ level: 'warning', message: `the clock (${facts.now.toISOString()}) is behind the database's last write (${facts.databaseModifiedAt.toISOString()})`, fix: 'check the system time (timedatectl); links would be signed with the wrong expiry' })
  }
  return findings
}

/** Reads what `checkStartup` needs from the machine: creates the data dir if missing and probes a write. */
export async function gatherStartupFacts(config: Readonly<Config>, now: Date): Promise<StartupFacts> {
  let dataDirProblem: string | null = null
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
    const probe = join(config.dataDir, `.write-probe-${randomBytes(6).toString('hex')}`)
    const handle = await open(probe, 'wx', 0o600)
    await handle.close()
    await rm(probe, { force: true })
  } catch (error) {
    dataDirProblem = error instanceof Error ? error.message : String(error)
  }
  const databaseModifiedAt = await stat(join(config.dataDir, 'airstrip.db')).then((s) => s.mtime, () => null)
  return { now, dataDirProblem, databaseModifiedAt }
}

/** The findings as printed by `serve`: one line each, with the fix. */
export function formatFindings(findings: StartupFinding[]): string {
  return findings.map((f) => `${f.level === 'error' ? 'ERROR' : 'WARNING'}: ${f.message}\n  fix: ${f.fix}\n`).join('')
}
