/**
 * Counts the attack attempts each checklist item made in one test file, for docs/reliability.md
 * (written only when the report script asks, see ../support/results.ts).
 */
import { recordResult } from '../support/results.ts'
import { CHECKLIST } from './checklist.ts'

const counts = new Map<string, number>()

/** Notes `n` attempts of the checklist item `id` (which must exist: the report is keyed by it). */
export function attempted(id: string, n = 1): void {
  if (!CHECKLIST.some((item) => item.id === id)) throw new Error(`unknown checklist item ${id}`)
  counts.set(id, (counts.get(id) ?? 0) + n)
}

/** Writes `attacker-<name>.json` with the counts (call from `after`). */
export function recordAttempts(name: string): void {
  recordResult(`attacker-${name}`, { attempts: Object.fromEntries(counts) })
}
