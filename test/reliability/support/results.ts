/**
 * Figures for docs/reliability.md: when AIRSTRIP_RELIABILITY_RESULTS names a folder (set by
 * scripts/reliability-report.ts), each reliability suite writes what it measured there as
 * `<name>.json`. Without it (CI, a plain `npm test`) nothing is written.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'

export function recordResult(name: string, data: Record<string, unknown>, dir = process.env['AIRSTRIP_RELIABILITY_RESULTS']): void {
  if (!dir) return
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ recordedAt: new Date().toISOString(), machine: machineInfo(), ...data }, null, 2)}\n`)
}

/** The machine a figure was measured on; the load average says how busy it was (other suites, other work). */
export function machineInfo(): Record<string, unknown> {
  return { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform, loadAverage1m: Number(loadavg()[0]!.toFixed(1)) }
}
