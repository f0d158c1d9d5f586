/**
 * Inspect benchmark: Airstrip's `inspectIpa` (metadata only, and with the full-file SHA-256) against
 * app-info-parser, on synthetic realistic .ipa files of ~100 MiB and >= 2 GiB with 20,000 entries.
 *
 * Every measurement runs in a fresh child process (bench/child-inspect.ts) so peak RSS is the
 * tool's own; fast runs are repeated and the median is reported. A benchmark prints figures: it
 * compares them with the targets but never fails on them.
 *
 * Usage: npm run bench:inspect [-- --sizes 100M,2G --entries 20000 --runs 3 --warm-calls 5
 *                                  --timeout 300 --wait-idle 0]
 *   --timeout: seconds before a child is killed (reported as a failure, never a hang)
 *   --wait-idle: on a shared machine, wait up to this many seconds for the load average to drop
 *                below half the cores before measuring
 */
import { spawn } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { ChildResult, Tool } from './child-inspect.ts'
import { defaultParams, ensureIpa, formatSize, parseSize, type GeneratedIpa } from './generate-ipa.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const CHILD = join(HERE, 'child-inspect.ts')
const MiB = 1024 * 1024
/** Runs slower than this are not repeated: one sample of a 30 s run is already stable enough. */
const REPEAT_BELOW_MS = 30_000
/** Peak RSS figures within this distance of each other count as "flat". */
const FLAT_TOLERANCE_MiB = 10

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100M,2G' },
    entries: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    timeout: { type: 'string', default: '300' },
    'warm-calls': { type: 'string', default: '5' },
    'wait-idle': { type: 'string', default: '0' },
  },
})
const WARM_CALLS = Math.max(0, Number(args['warm-calls']))
const RUNS = Math.max(1, Number(args.runs))
const TIMEOUT_MS = Number(args.timeout) * 1000

interface Sample {
  ok: boolean
  /** Time of the call inside the child (Airstrip / app-info-parser), or of the whole command. */
  ms: number
  /** The child process from spawn to exit, Node start-up and module loading included. */
  processMs: number
  importMs: number | null
  /** CPU time of the call (child only). */
  cpuMs: number | null
  rssMiB: number | null
  /** RSS once modules were loaded, before the call. */
  rssBeforeMiB: number | null
  summary: string
  error: string | null
}

interface Row {
  file: GeneratedIpa
  tool: string
  samples: Sample[]
  ms: number | null
  processMs: number | null
  cpuMs: number | null
  rssMiB: number | null
  rssBeforeMiB: number | null
  /** Median of repeated calls in one process after a first, cold one (JIT warm, as in a server). */
  warmMs: number | null
  error: string | null
  summary: string
}

/** Runs a command with a hard timeout (SIGKILL), keeping the ends of stdout and stderr. */
function runProcess(command: string, argv: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, TIMEOUT_MS)
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (stdout = (stdout + chunk).slice(-64 * 1024)))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-64 * 1024)))
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started, timedOut })
    })
  })
}

/** Why a child failed, in a few words: timeout, out of memory, or its last error line. */
function failureReason(result: Awaited<ReturnType<typeof runProcess>>): string {
  if (result.timedOut) return `timeout after ${TIMEOUT_MS / 1000} s (killed)`
  if (/heap out of memory|JavaScript heap|Allocation failed/i.test(result.stderr)) return 'out of memory (V8 heap limit)'
  if (result.signal === 'SIGKILL') return 'killed (SIGKILL; likely the kernel OOM killer)'
  if (result.signal) return `killed by ${result.signal}`
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter(Boolean)
  const error = lines.find((line) => /^(\w*Error|AirstripError)\b|Error:/.test(line)) ?? lines.at(-1) ?? '(no output)'
  return `exit ${result.code}: ${error.slice(0, 160)}`
}

async function measureTool(tool: Tool, path: string, calls = 1): Promise<Sample & { warmMs: number | null }> {
  const result = await runProcess(process.execPath, [CHILD, tool, path, String(calls)])
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (result.code !== 0 || !line) {
    return { ok: false, ms: result.ms, processMs: result.ms, importMs: null, cpuMs: null, rssMiB: null, rssBeforeMiB: null, summary: '', error: failureReason(result), warmMs: null }
  }
  const parsed = JSON.parse(line.slice('RESULT '.length)) as ChildResult
  return {
    ok: true,
    ms: parsed.ms,
    processMs: result.ms,
    importMs: parsed.importMs,
    cpuMs: parsed.cpuMs,
    rssMiB: parsed.maxRssKiB / 1024,
    rssBeforeMiB: parsed.rssBeforeKiB / 1024,
    summary: parsed.summary,
    error: null,
    warmMs: parsed.warmMs,
  }
}

/** A hashing command as the baseline (same file, same page cache); null when it is not installed. */
async function measureCommand(command: string, argv: string[]): Promise<Sample> {
  try {
    const result = await runProcess(command, argv)
    if (result.code !== 0) return { ok: false, ms: result.ms, processMs: result.ms, importMs: null, cpuMs: null, rssMiB: null, rssBeforeMiB: null, summary: '', error: failureReason(result) }
    return { ok: true, ms: result.ms, processMs: result.ms, importMs: null, cpuMs: null, rssMiB: null, rssBeforeMiB: null, summary: result.stdout.trim().slice(0, 80), error: null }
  } catch (error) {
    return { ok: false, ms: 0, processMs: 0, importMs: null, cpuMs: null, rssMiB: null, rssBeforeMiB: null, summary: '', error: (error as Error).message }
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Up to RUNS samples; a slow first run (> 30 s) or a failure is not repeated. `warm`, when given,
 * is one more child doing several calls, for the warm figure (its RSS is not used).
 */
async function measure(file: GeneratedIpa, tool: string, sample: () => Promise<Sample>, warm?: () => Promise<Sample & { warmMs: number | null }>): Promise<Row> {
  const samples: Sample[] = []
  for (let i = 0; i < RUNS; i++) {
    const s = await sample()
    samples.push(s)
    process.stderr.write(`  ${tool.padEnd(16)} run ${i + 1}: ${s.ok ? `${s.ms.toFixed(0)} ms${s.rssMiB !== null ? `, ${s.rssMiB.toFixed(1)} MiB` : ''}` : `FAILED ${s.error}`}\n`)
    if (!s.ok || s.ms > REPEAT_BELOW_MS) break
  }
  const ok = samples.filter((s) => s.ok)
  let warmMs: number | null = null
  if (warm && ok.length > 0 && ok[0]!.ms <= REPEAT_BELOW_MS) {
    const w = await warm()
    warmMs = w.warmMs
    process.stderr.write(`  ${tool.padEnd(16)} warm: ${w.ok ? `${fmt(w.warmMs)} ms (median of calls 2..${WARM_CALLS})` : `FAILED ${w.error}`}\n`)
  }
  return {
    file,
    tool,
    samples,
    ms: median(ok.map((s) => s.ms)),
    processMs: median(ok.map((s) => s.processMs)),
    cpuMs: median(ok.filter((s) => s.cpuMs !== null).map((s) => s.cpuMs!)),
    // The worst peak seen: the claim is about the ceiling, not the typical run.
    rssMiB: ok.some((s) => s.rssMiB !== null) ? Math.max(...ok.map((s) => s.rssMiB ?? 0)) : null,
    rssBeforeMiB: median(ok.filter((s) => s.rssBeforeMiB !== null).map((s) => s.rssBeforeMiB!)),
    warmMs,
    error: samples.find((s) => !s.ok)?.error ?? null,
    summary: ok[0]?.summary ?? '',
  }
}

/** A Markdown table (readable as is in a terminal); `right` lists the numeric columns. */
function table(headers: string[], rows: string[][], right: number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`
  return [line(headers), rule, ...rows.map(line)].join('\n')
}

const fmt = (value: number | null, digits = 0): string => (value === null ? '-' : value.toFixed(digits))
const verdict = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'MET' : 'MISSED')

const sizes = args.sizes.split(',').map(parseSize)
const files: GeneratedIpa[] = []
for (const size of sizes) files.push(await ensureIpa(defaultParams(size, Number(args.entries)), (line) => process.stderr.write(`${line}\n`)))

/** Other work on the machine inflates every figure: optionally wait for it to calm down. */
async function waitIdle(seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  const calm = availableParallelism() / 2
  while (loadavg()[0]! > calm && Date.now() < deadline) {
    process.stderr.write(`waiting for the machine to calm down (load ${loadavg()[0]!.toFixed(2)} > ${calm}) ...\n`)
    await new Promise((resolve) => setTimeout(resolve, 15_000))
  }
}
await waitIdle(Number(args['wait-idle']))
const loadBefore = loadavg()[0]!
process.stderr.write(`node ${process.version}, ${RUNS} run(s) per tool (1 when slower than ${REPEAT_BELOW_MS / 1000} s), timeout ${TIMEOUT_MS / 1000} s\n`)
const baseline = await measure(files[0]!, 'node (no-op)', () => measureTool('noop', files[0]!.path))
const rows: Row[] = []
const perFile = new Map<GeneratedIpa, Record<string, Row>>()
for (const file of files) {
  process.stderr.write(`${formatSize(file.bytes)} ${file.path}\n`)
  // The first full read warms the page cache so that no tool pays for the disk alone.
  await measureCommand('cat', [file.path])
  const byTool: Record<string, Row> = {}
  for (const tool of ['airstrip-meta', 'airstrip-hash', 'airstrip-sha256', 'app-info-parser'] as const) {
    byTool[tool] = await measure(
      file,
      tool,
      () => measureTool(tool, file.path),
      WARM_CALLS > 1 ? () => measureTool(tool, file.path, WARM_CALLS) : undefined,
    )
  }
  byTool['sha256sum'] = await measure(file, 'sha256sum', () => measureCommand('sha256sum', [file.path]))
  byTool['openssl dgst'] = await measure(file, 'openssl dgst', () => measureCommand('openssl', ['dgst', '-sha256', file.path]))
  perFile.set(file, byTool)
  rows.push(...Object.values(byTool))
}

const loadAfter = loadavg()[0]!
const cores = availableParallelism()
const out: string[] = []
out.push('', `Inspect benchmark — node ${process.version}, ${process.platform}/${process.arch}, ${cores} cores; median of ${RUNS} fresh processes (1 when > ${REPEAT_BELOW_MS / 1000} s)`)
out.push(`Load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}${Math.max(loadBefore, loadAfter) > cores / 2 ? ' — WARNING: the machine was busy; times are inflated and noisy' : ''}`)
out.push(`Bare Node process (no-op child) peak RSS: ${fmt(baseline.rssMiB, 1)} MiB — included in every RSS figure below.`, '')
out.push(
  table(
    ['file', 'tool', 'entries', 'cold ms', 'cold CPU ms', 'warm ms', 'process ms', 'import ms', 'RSS before', 'peak RSS MiB', 'call +RSS', 'MiB/s', 'result'],
    rows.map((row) => {
      const size = row.file.bytes / MiB
      const hashes = ['airstrip-hash', 'airstrip-sha256', 'sha256sum', 'openssl dgst'].includes(row.tool)
      const importMs = median(row.samples.filter((s) => s.ok && s.importMs !== null).map((s) => s.importMs!))
      return [
        formatSize(row.file.bytes),
        row.tool,
        String(row.file.entries),
        row.ms === null ? 'FAILED' : fmt(row.ms),
        fmt(row.cpuMs),
        fmt(row.warmMs),
        fmt(row.processMs),
        fmt(importMs),
        fmt(row.rssBeforeMiB, 1),
        fmt(row.rssMiB, 1),
        row.rssMiB !== null && row.rssBeforeMiB !== null ? fmt(row.rssMiB - row.rssBeforeMiB, 1) : '',
        hashes && row.ms ? fmt(size / (row.ms / 1000)) : '',
        row.error ? `FAILED: ${row.error}` : row.summary.slice(0, 70),
      ]
    }),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  ),
)
out.push(
  '',
  '"cold ms": the first inspection call in a fresh child (no start-up/import), median of the runs; for sha256sum/openssl, the whole command.',
  '"cold CPU ms": CPU time (user+system, all threads) of that call — steadier than wall time when the machine is busy.',
  '"warm ms": median of calls 2..N in one process (JIT warm, as in a long-running server). "RSS before": after imports, before the call;',
  '"peak RSS": the child\'s maxRSS after the cold call (worst run); "call +RSS": peak minus before. MiB/s: file size / cold time.',
  '',
)

const targets: string[][] = []
const mibps = (file: GeneratedIpa, ms: number | null): number | null => (ms ? file.bytes / MiB / (ms / 1000) : null)
for (const [file, byTool] of perFile) {
  const size = formatSize(file.bytes)
  const meta = byTool['airstrip-meta']!
  const hash = byTool['airstrip-hash']!
  const sha = byTool['airstrip-sha256']!
  const peer = byTool['app-info-parser']!
  const speedup = peer.ms !== null && meta.ms !== null ? peer.ms / meta.ms : null
  const speedupText = peer.ms === null ? `app-info-parser failed (${peer.error}); Airstrip ${fmt(meta.ms)} ms` : `${fmt(speedup, 1)}x (${fmt(peer.ms)} / ${fmt(meta.ms)} ms)`
  const speedupVerdict = meta.ms === null ? 'n/a (Airstrip failed)' : peer.ms === null ? 'n/a (peer failed)' : verdict(speedup !== null && speedup >= 20)
  targets.push([size, 'metadata >= 20x faster than app-info-parser (cold)', speedupText, speedupVerdict])
  const cpuSpeedup = peer.cpuMs !== null && meta.cpuMs !== null ? peer.cpuMs / meta.cpuMs : null
  targets.push([size, 'metadata >= 20x less CPU than app-info-parser (cold)', `${fmt(cpuSpeedup, 1)}x (${fmt(peer.cpuMs)} / ${fmt(meta.cpuMs)} CPU ms)`, cpuSpeedup === null ? 'n/a' : verdict(cpuSpeedup >= 20)])
  const warmSpeedup = peer.warmMs !== null && meta.warmMs !== null ? peer.warmMs / meta.warmMs : null
  targets.push([size, 'metadata >= 20x faster than app-info-parser (warm)', `${fmt(warmSpeedup, 1)}x (${fmt(peer.warmMs)} / ${fmt(meta.warmMs)} ms)`, warmSpeedup === null ? 'n/a' : verdict(warmSpeedup >= 20)])
  const peaks = [meta.rssMiB, hash.rssMiB].filter((value): value is number => value !== null)
  const peak = peaks.length ? Math.max(...peaks) : null
  targets.push([
    size,
    'Airstrip peak RSS < 100 MiB',
    `meta ${fmt(meta.rssMiB, 1)} (+${fmt(meta.rssMiB !== null && meta.rssBeforeMiB !== null ? meta.rssMiB - meta.rssBeforeMiB : null, 1)} in the call), hash ${fmt(hash.rssMiB, 1)} (+${fmt(hash.rssMiB !== null && hash.rssBeforeMiB !== null ? hash.rssMiB - hash.rssBeforeMiB : null, 1)}) MiB; app-info-parser ${fmt(peer.rssMiB, 1)} MiB = ${peer.rssMiB && peak ? fmt(peer.rssMiB / peak, 2) : '-'}x Airstrip's`,
    peak === null ? 'n/a (Airstrip failed)' : verdict(peak < 100),
  ])
  const baselineHash = [byTool['sha256sum']!, byTool['openssl dgst']!].filter((r) => r.ms !== null).sort((a, b) => a.ms! - b.ms!)[0]
  const base = mibps(file, baselineHash?.ms ?? null)
  const ratio = (value: number | null): string => (value && base ? `${fmt(value / base, 2)}x` : '-')
  targets.push([
    size,
    'hashing throughput vs fastest CLI hash (same run)',
    `full pass ${fmt(mibps(file, hash.ms))} MiB/s (${ratio(mibps(file, hash.ms))}), hashSource alone ${fmt(mibps(file, sha.ms))} MiB/s (${ratio(mibps(file, sha.ms))}); ${baselineHash?.tool ?? '-'} ${fmt(base)} MiB/s`,
    'info',
  ])
}
if (files.length >= 2) {
  const [first, last] = [perFile.get(files[0]!)!, perFile.get(files.at(-1)!)!]
  for (const tool of ['airstrip-meta', 'airstrip-hash'] as const) {
    const a = first[tool]!.rssMiB
    const b = last[tool]!.rssMiB
    const delta = a !== null && b !== null ? b - a : null
    targets.push([
      `${formatSize(files[0]!.bytes)} -> ${formatSize(files.at(-1)!.bytes)}`,
      `Airstrip peak RSS flat, ${tool} (within ${FLAT_TOLERANCE_MiB} MiB)`,
      `${fmt(a, 1)} -> ${fmt(b, 1)} MiB (${delta !== null && delta >= 0 ? '+' : ''}${fmt(delta, 1)} MiB)`,
      delta === null ? 'n/a' : verdict(Math.abs(delta) <= FLAT_TOLERANCE_MiB),
    ])
  }
}
out.push(table(['file', 'target', 'figures', 'verdict'], targets), '')
console.log(out.join('\n'))
