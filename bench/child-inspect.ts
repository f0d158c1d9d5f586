/**
 * One measured run, in its own process so each tool starts from fresh memory and the peak RSS
 * (`process.resourceUsage().maxRSS`) belongs to that tool alone.
 *
 * Usage: node bench/child-inspect.ts <tool> <file> [calls]
 *   tool: airstrip-meta (sha256: null) | airstrip-hash (default: metadata + hash in one pass) |
 *         airstrip-sha256 (hashSource alone: the hashing throughput) | app-info-parser |
 *         noop (the bare Node baseline)
 *   calls: 1 (default) measures a cold call in a fresh process; more also give the warm
 *   (JIT-compiled, server steady state) time as the median of the calls after the first.
 * Prints one line `RESULT {json}` on stdout; failures exit non-zero with the error on stderr.
 */
import { createRequire } from 'node:module'

export type Tool = 'airstrip-meta' | 'airstrip-hash' | 'airstrip-sha256' | 'app-info-parser' | 'noop'

export interface ChildResult {
  tool: Tool
  /** Module loading, excluded from `ms`. */
  importMs: number
  /** Wall time of the first (cold) inspection call itself. */
  ms: number
  /** CPU time (user + system, all threads) of the first call: steadier than wall time on a busy machine. */
  cpuMs: number
  /** Median wall time of the calls after the first, when there were any. */
  warmMs: number | null
  /** Peak resident set size of the whole process after the first call, in KiB. */
  maxRssKiB: number
  /** Resident set size once the modules were loaded, before the call, in KiB. */
  rssBeforeKiB: number
  /** Enough of the answer to see that the tool really read the file. */
  summary: string
}

const RESULT_PREFIX = 'RESULT '

type Run = () => Promise<string>

async function load(tool: Tool, file: string): Promise<Run> {
  switch (tool) {
    case 'airstrip-meta':
    case 'airstrip-hash': {
      const { inspectIpa } = await import('../src/ipa/inspect.ts')
      const options = tool === 'airstrip-meta' ? { now: new Date(), sha256: null } : { now: new Date() }
      return async () => {
        const { info, iconPng } = await inspectIpa(file, options)
        return `${info.bundleId} ${info.version} (${info.build}) icon=${iconPng?.length ?? 0}B cert=${info.signingCertificate ? 'yes' : 'no'} sha256=${info.sha256?.slice(0, 12) ?? 'null'}`
      }
    }
    case 'airstrip-sha256': {
      const { hashSource } = await import('../src/ipa/inspect.ts')
      const { openFileSource } = await import('../src/ipa/source.ts')
      return async () => {
        const source = await openFileSource(file)
        try {
          return `sha256=${(await hashSource(source)).slice(0, 12)}`
        } finally {
          await source.close()
        }
      }
    }
    case 'app-info-parser': {
      const AppInfoParser = createRequire(import.meta.url)('app-info-parser') as new (path: string) => { parse(): Promise<Record<string, unknown>> }
      return async () => {
        const result = await new AppInfoParser(file).parse()
        const icon = typeof result['icon'] === 'string' ? result['icon'].length : 0
        return `${String(result['CFBundleIdentifier'])} ${String(result['CFBundleShortVersionString'])} (${String(result['CFBundleVersion'])}) icon=${icon}ch(base64)`
      }
    }
    case 'noop':
      return async () => 'nothing'
    default:
      throw new Error(`unknown tool ${String(tool)}`)
  }
}

const [tool, file, callsArg] = process.argv.slice(2) as [Tool, string, string | undefined]
const calls = Math.max(1, Number(callsArg ?? 1))
if (!tool || (!file && tool !== 'noop')) {
  console.error('usage: node bench/child-inspect.ts <airstrip-meta|airstrip-hash|airstrip-sha256|app-info-parser|noop> <file> [calls]')
  process.exit(2)
}
const importStart = performance.now()
const run = await load(tool, file)
const rssBeforeKiB = process.memoryUsage().rss / 1024
const cpuStart = process.cpuUsage()
const start = performance.now()
const summary = await run()
const ms = performance.now() - start
const cpu = process.cpuUsage(cpuStart)
const cpuMs = (cpu.user + cpu.system) / 1000
const maxRssKiB = process.resourceUsage().maxRSS
const warm: number[] = []
for (let i = 1; i < calls; i++) {
  const again = performance.now()
  await run()
  warm.push(performance.now() - again)
}
warm.sort((a, b) => a - b)
const warmMs = warm.length ? warm[Math.floor((warm.length - 1) / 2)]! : null
const result: ChildResult = { tool, importMs: start - importStart, ms, cpuMs, warmMs, maxRssKiB, rssBeforeKiB, summary }
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
// Some tools leave file handles open (app-info-parser never closes its zip): do not wait for them.
process.exit(0)
