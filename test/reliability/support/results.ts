/**
 * Figures for docs/reliability.md: when AIRSTRIP_RELIABILITY_RESULTS names a folder (set by
 * scripts/reliability-report.ts), each reliability suite writes what it measured there as
 * `<name>.json`. Without it (CI, a plain `npm test`) nothing is written.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'

export function recordResult(name: string, data: Record<string, unknown>): void {
  const dir = process.env['AIRSTRIP_RELIABILITY_RESULTS']
  if (!dir) return
  mkdirSync(dir, { recursive: true })
  const machine = { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform }
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ recordedAt: new Date().toISOString(), machine, ...data }, null, 2)}\n`)
}
