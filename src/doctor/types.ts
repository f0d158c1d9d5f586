import type { Evidence } from './evidence.ts'

export const CHECK_STATUSES = ['pass', 'fail', 'warn', 'skip'] as const
/** pass: fine · fail: the install will fail · warn: fragile or degraded · skip: not evaluated (why is in the message). */
export type CheckStatus = (typeof CHECK_STATUSES)[number]

/** How bad a check's finding is when it does not pass. */
export type CheckSeverity = 'error' | 'warning' | 'info'

/** What one check concluded about the gathered evidence. */
export interface CheckOutcome {
  status: CheckStatus
  /** The specific cause (or, for a pass, what was verified). */
  message: string
  /** A fix specific to this finding; the check's general fix is used when absent. */
  fix?: string
  evidence?: Record<string, unknown>
}

/**
 * One diagnosis, a pure function of the evidence: the same evidence always gives the same outcome.
 * `id` is stable (scripts and the JSON output rely on it); `symptom` is what the tester sees on the
 * device when the check fails.
 */
export interface CheckDefinition {
  id: string
  title: string
  severity: CheckSeverity
  symptom: string
  fix: string
  run(evidence: Evidence): CheckOutcome
}

/** A check's outcome as reported (human output and `--json`). */
export interface CheckResult {
  id: string
  title: string
  status: CheckStatus
  severity: CheckSeverity
  message: string
  /** Only for fail and warn. */
  symptom: string | null
  fix: string | null
  evidence: Record<string, unknown>
}

export interface DoctorReport {
  target: string
  checks: CheckResult[]
  /** The target itself could not be fetched at all (DNS, refused, timeout, TLS handshake): exit status 2. */
  targetUnreachable: boolean
}
