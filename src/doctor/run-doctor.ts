import { AirstripError } from '../errors.ts'
import { normalizeUdid } from '../devices/udid.ts'
import type { ServerEvidence } from './evidence.ts'
import { gatherEvidence } from './gather.ts'
import { createDeadline, createFetcher } from './http-fetch.ts'
import { DOCTOR_LIMITS } from './limits.ts'
import { runChecks } from './run-checks.ts'
import { createTrustStore } from './trust-store.ts'
import type { DoctorReport } from './types.ts'

const IOS_VERSION = /^\d{1,3}(\.\d{1,3}){0,2}$/

export interface DoctorOptions {
  /** An install page URL, an itms-services:// link, a manifest URL, or a local .ipa / .plist path. */
  target: string
  /** A device to check against the profile's ProvisionedDevices. */
  udid?: string | null
  /** The device's iOS version (e.g. "17.5"), to compare with the app's MinimumOSVersion. */
  ios?: string | null
  /** PEM certificates of private CAs the devices trust (`--ca-file`). */
  caPems?: readonly string[]
  /** The clock the build's profile and certificate are judged against (default: now). */
  now?: Date
  /** The whole run (default 60 s). */
  timeoutMs?: number
  /** One request (default 15 s; never more than what is left of the run). */
  requestTimeoutMs?: number
  /** Set by the server when it diagnoses itself. */
  server?: ServerEvidence
}

/**
 * Diagnoses an OTA deployment the way iOS would fail it: gathers evidence along the installer's
 * path (bounded in time and bytes), then runs every check over it. A broken deployment is a report
 * with failed checks, never an exception; only bad input (a target that is nothing doctor can
 * read, a malformed UDID) throws.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  let udid: string | null = null
  if (options.udid) {
    udid = normalizeUdid(options.udid)
    if (!udid) throw new AirstripError('invalid-udid', `"${options.udid}" is not a device UDID (40 hex characters, or 8 + 16 hex separated by "-")`)
  }
  if (options.ios && !IOS_VERSION.test(options.ios)) throw new AirstripError('usage-error', `--ios "${options.ios}" is not an iOS version like 17.5`)
  const trust = createTrustStore(options.caPems ?? [])
  const timeoutMs = options.timeoutMs ?? DOCTOR_LIMITS.timeoutMs
  const requestTimeoutMs = Math.min(options.requestTimeoutMs ?? DOCTOR_LIMITS.requestTimeoutMs, timeoutMs)
  const fetcher = createFetcher({ trust, deadline: createDeadline(timeoutMs), requestTimeoutMs })
  try {
    const { evidence, targetUnreachable } = await gatherEvidence({
      target: options.target,
      now: options.now ?? new Date(),
      udid,
      iosVersion: options.ios ?? null,
      trust,
      fetcher,
      requestTimeoutMs,
      server: options.server,
    })
    return { target: options.target, checks: runChecks(evidence), targetUnreachable }
  } finally {
    fetcher.close()
  }
}

/** 0: no check failed · 1: at least one failed · 2: the target could not be reached at all. */
export function doctorExitStatus(report: DoctorReport): number {
  if (report.targetUnreachable) return 2
  return report.checks.some((check) => check.status === 'fail') ? 1 : 0
}
