import { CHECKS } from './checks/index.ts'
import type { Evidence } from './evidence.ts'
import type { CheckDefinition, CheckResult } from './types.ts'

/**
 * Evaluates every check over the evidence. Never throws: a check that crashes is reported as
 * failed with the reason, and the others still run.
 */
export function runChecks(evidence: Evidence, checks: readonly CheckDefinition[] = CHECKS): CheckResult[] {
  return checks.map((check) => {
    let outcome
    try {
      outcome = check.run(evidence)
    } catch (error) {
      outcome = { status: 'fail' as const, message: `the check itself failed: ${error instanceof Error ? error.message : String(error)}` }
    }
    const notable = outcome.status === 'fail' || outcome.status === 'warn'
    return {
      id: check.id,
      title: check.title,
      status: outcome.status,
      severity: check.severity,
      message: outcome.message,
      symptom: notable ? check.symptom : null,
      fix: notable ? (outcome.fix ?? check.fix) : null,
      evidence: outcome.evidence ?? {},
    }
  })
}
