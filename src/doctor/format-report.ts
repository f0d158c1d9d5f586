import type { CheckResult, CheckStatus, DoctorReport } from './types.ts'

const SYMBOL: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '-' }

/**
 * The human report: one line per check (✓ pass, ✗ fail, ! warning, - skipped), and under every
 * failure and warning what the tester sees on the device, the cause and the fix.
 */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.id.length)) + 2
  const lines = [`airstrip doctor ${report.target}`, '']
  for (const check of report.checks) {
    lines.push(`${SYMBOL[check.status]} ${check.id.padEnd(width)}${check.status === 'skip' ? `skipped: ${check.message}` : check.message}`)
    if (check.status === 'fail' || check.status === 'warn') lines.push(...details(check, width))
  }
  const count = (status: CheckStatus): number => report.checks.filter((check) => check.status === status).length
  lines.push('', `${count('pass')} passed, ${count('fail')} failed, ${count('warn')} warnings, ${count('skip')} skipped${report.targetUnreachable ? ' — the target could not be reached' : ''}`)
  return `${lines.join('\n')}\n`
}

function details(check: CheckResult, width: number): string[] {
  const indent = ' '.repeat(width + 2)
  const out: string[] = []
  if (check.symptom) out.push(`${indent}on the device: ${check.symptom}`)
  if (check.fix) out.push(`${indent}fix: ${check.fix}`)
  return out
}
