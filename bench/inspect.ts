/**
 * Inspect benchmark: Airstrip's `inspectIpa` (metadata only, and with the full-file SHA-256) against
 * app-info-parser, on synthetic realistic .ipa files of ~100 MiB and >= 2 GiB with 20,000 entries.
 *
 * Every measurement runs in a fresh child process (bench/child-inspect.ts) so peak RSS is the
 * tool's own; fast runs are repeated and the median is reported. The real command
 * (`node bin/airstrip.js inspect --json --no-hash`) and `node -e 0` (Node's own floor) are timed
 * too, with /usr/bin/time for their peak RSS when it is installed. A benchmark prints figures: it
 * compares them with the targets but never fails on them.
 *
 * Two modes, both measured in the same run for every tool:
 *   fresh   what a plain `node` start does today: Node strips the TypeScript of every module at
 *           every start (its bundled amaro/SWC: ~17 MiB and ~100 ms before our code runs).
 *   cached  with Node's compile cache (NODE_COMPILE_CACHE, as `module.enableCompileCache()` would
 *           set up in bin/airstrip.js): stripped sources and V8 bytecode come from disk. The cache
 *           (bench/.work/compile-cache) is primed by one unmeasured run of each tool first.
 *
 * Usage: npm run bench:inspect [-- --sizes 100M,2G --entries 20000 --runs 5 --warm-calls 5
 *                                  --modes fresh,cached --timeout 300 --wait-idle 0]
 *   --timeout: seconds before a child is killed (reported as a failure, never a hang)
 *   --wait-idle: on a shared machine, wait up to this many seconds for the load average to drop
 *                below half the cores before measuring
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { ChildResult, Tool } from './child-inspect.ts'
import { WORK_DIR, defaultParams, ensureIpa, formatSize, parseSize, type GeneratedIpa } from './generate-ipa.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const CHILD = join(HERE, 'child-inspect.ts')
const CLI = join(HERE, '..', 'bin', 'airstrip.js')
const COMPILE_CACHE = join(WORK_DIR, 'compile-cache')
const TIME = '/usr/bin/time'
const MiB = 1024 * 1024
/** Runs slower than this are not repeated: one sample of a 30 s run is already stable enough. */
const REPEAT_BELOW_MS = 30_000
/** Peak RSS figures within this distance of each other count as "flat". */
const FLAT_TOLERANCE_MiB = 10

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100M,2G' },
    entries: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '5' },
    modes: { type: 'string', default: 'fresh,cached' },
    timeout: { type: 'string', default: '300' },
    'warm-calls': { type: 'string', default: '5' },
    'wait-idle': { type: 'string', default: '0' },
  },
})
const WARM_CALLS = Math.max(0, Number(args['warm-calls']))
const RUNS = Math.max(1, Number(args.runs))
const TIMEOUT_MS = Number(args.timeout) * 1000
type Mode = 'fresh' | 'cached'
const MODES = args.modes.split(',').filter((m): m is Mode => m === 'fresh' || m === 'cached')
const HAS_TIME = existsSync(TIME)

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
  mode: Mode
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

/** The children's environment for a mode: the compile cache on or (explicitly) off. */
function envFor(mode: Mode): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env['NODE_COMPILE_CACHE']
  if (mode === 'cached') env['NODE_COMPILE_CACHE'] = COMPILE_CACHE
  return env
}

/** Runs a command with a hard timeout (SIGKILL), keeping the ends of stdout and stderr. */
function runProcess(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env })
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

const failed = (ms: number, error: string): Sample => ({ ok: false, ms, processMs: ms, importMs: null, cpuMs: null, rssMiB: null, rssBeforeMiB: null, summary: '', error })

async function measureTool(tool: Tool, path: string, mode: Mode, calls = 1): Promise<Sample & { warmMs: number | null }> {
  const result = await runProcess(process.execPath, [CHILD, tool, path, String(calls)], envFor(mode))
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '))
  if (result.code !== 0 || !line) return { ...failed(result.ms, failureReason(result)), warmMs: null }
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

/**
 * A whole command as the baseline or as the real CLI (same file, same page cache): wall time from
 * spawn to exit, and peak RSS through /usr/bin/time when it is installed.
 */
async function measureCommand(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Sample> {
  const [run, runArgv] = HAS_TIME ? [TIME, ['-f', 'PEAK_RSS_KIB %M', command, ...argv]] : [command, argv]
  try {
    const result = await runProcess(run, runArgv, env)
    if (result.code !== 0) return failed(result.ms, failureReason(result))
    const peak = /PEAK_RSS_KIB (\d+)/.exec(result.stderr)
    const summary = result.stdout.trim().replace(/\s+/g, ' ').slice(0, 80)
    return { ok: true, ms: result.ms, processMs: result.ms, importMs: null, cpuMs: null, rssMiB: peak ? Number(peak[1]) / 1024 : null, rssBeforeMiB: null, summary, error: null }
  } catch (error) {
    return failed(0, (error as Error).message)
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

interface Spec {
  tool: string
  sample: () => Promise<Sample>
  /** One more child doing several calls, for the warm figure (its RSS is not used). */
  warm?: () => Promise<Sample & { warmMs: number | null }>
}

/**
 * Up to RUNS samples of each tool, interleaved (run 1 of every tool, then run 2, ...) so that a
 * change of load on a shared machine hits all tools alike and per-run ratios stay meaningful. A
 * tool whose run fails or takes over 30 s is not repeated.
 */
async function measureTogether(file: GeneratedIpa, mode: Mode, specs: Spec[]): Promise<Row[]> {
  const samples: Sample[][] = specs.map(() => [])
  const label = (tool: string): string => `${tool} [${mode}]`.padEnd(28)
  for (let i = 0; i < RUNS; i++) {
    for (const [k, spec] of specs.entries()) {
      const previous = samples[k]!.at(-1)
      if (previous && (!previous.ok || previous.ms > REPEAT_BELOW_MS)) continue
      const s = await spec.sample()
      samples[k]!.push(s)
      process.stderr.write(`  ${label(spec.tool)} run ${i + 1}: ${s.ok ? `${s.ms.toFixed(0)} ms${s.rssMiB !== null ? `, ${s.rssMiB.toFixed(1)} MiB` : ''}` : `FAILED ${s.error}`}\n`)
    }
  }
  const rows: Row[] = []
  for (const [k, spec] of specs.entries()) {
    const ok = samples[k]!.filter((s) => s.ok)
    let warmMs: number | null = null
    if (spec.warm && ok.length > 0 && ok[0]!.ms <= REPEAT_BELOW_MS) {
      const w = await spec.warm()
      warmMs = w.warmMs
      process.stderr.write(`  ${label(spec.tool)} warm: ${w.ok ? `${fmt(w.warmMs)} ms (median of calls 2..${WARM_CALLS})` : `FAILED ${w.error}`}\n`)
    }
    rows.push({
      file,
      mode,
      tool: spec.tool,
      samples: samples[k]!,
      ms: median(ok.map((s) => s.ms)),
      processMs: median(ok.map((s) => s.processMs)),
      cpuMs: median(ok.filter((s) => s.cpuMs !== null).map((s) => s.cpuMs!)),
      // The worst peak seen: the claim is about the ceiling, not the typical run.
      rssMiB: ok.some((s) => s.rssMiB !== null) ? Math.max(...ok.map((s) => s.rssMiB ?? 0)) : null,
      rssBeforeMiB: median(ok.filter((s) => s.rssBeforeMiB !== null).map((s) => s.rssBeforeMiB!)),
      warmMs,
      error: samples[k]!.find((s) => !s.ok)?.error ?? null,
      summary: ok[0]?.summary ?? '',
    })
  }
  return rows
}

async function measure(file: GeneratedIpa, mode: Mode, tool: string, sample: () => Promise<Sample>): Promise<Row> {
  return (await measureTogether(file, mode, [{ tool, sample }]))[0]!
}

/** Median over the runs measured side by side of peer / ours (for `key` of the samples). */
function pairedRatio(peer: Row, ours: Row, key: 'ms' | 'cpuMs' | 'processMs'): number | null {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(peer.samples.length, ours.samples.length); i++) {
    const [a, b] = [peer.samples[i]!, ours.samples[i]!]
    if (a.ok && b.ok && a[key] !== null && b[key] !== null && b[key]! > 0) ratios.push(a[key]! / b[key]!)
  }
  return median(ratios)
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
const ratio = (peer: number | null, ours: number | null): number | null => (peer !== null && ours !== null && ours > 0 ? peer / ours : null)

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
process.stderr.write(`node ${process.version}, modes ${MODES.join(', ')}, ${RUNS} run(s) per tool (1 when slower than ${REPEAT_BELOW_MS / 1000} s), timeout ${TIMEOUT_MS / 1000} s\n`)

const CHILD_TOOLS = ['airstrip-meta', 'airstrip-hash', 'app-info-parser'] as const
const cliArgs = (path: string): string[] => [CLI, 'inspect', '--json', '--no-hash', path]
mkdirSync(COMPILE_CACHE, { recursive: true })
const floors = new Map<Mode, { nodeE: Row; tsChild: Row }>()
for (const mode of MODES) {
  if (mode === 'cached') {
    // Prime the cache: one unmeasured run of everything that will be measured.
    for (const tool of [...CHILD_TOOLS, 'noop'] as const) await measureTool(tool, files[0]!.path, mode)
    await measureCommand(process.execPath, cliArgs(files[0]!.path), envFor(mode))
  }
  floors.set(mode, {
    nodeE: await measure(files[0]!, mode, 'node -e 0', () => measureCommand(process.execPath, ['-e', '0'], envFor(mode))),
    tsChild: await measure(files[0]!, mode, 'node child (no-op)', () => measureTool('noop', files[0]!.path, mode)),
  })
}

const rows: Row[] = []
const perFile = new Map<GeneratedIpa, Map<string, Row>>()
const key = (mode: Mode, tool: string): string => `${mode}:${tool}`
for (const file of files) {
  process.stderr.write(`${formatSize(file.bytes)} ${file.path}\n`)
  // The first full read warms the page cache so that no tool pays for the disk alone.
  await measureCommand('cat', [file.path])
  const byTool = new Map<string, Row>()
  for (const mode of MODES) {
    const specs: Spec[] = CHILD_TOOLS.map((tool) => ({
      tool,
      sample: () => measureTool(tool, file.path, mode),
      warm: WARM_CALLS > 1 ? () => measureTool(tool, file.path, mode, WARM_CALLS) : undefined,
    }))
    specs.push({ tool: 'airstrip CLI', sample: () => measureCommand(process.execPath, cliArgs(file.path), envFor(mode)) })
    for (const row of await measureTogether(file, mode, specs)) byTool.set(key(mode, row.tool), row)
  }
  // Hashing throughput does not depend on the mode: measured once.
  const mode = MODES[0]!
  byTool.set(key(mode, 'airstrip-sha256'), await measure(file, mode, 'airstrip-sha256', () => measureTool('airstrip-sha256', file.path, mode)))
  byTool.set(key(mode, 'sha256sum'), await measure(file, mode, 'sha256sum', () => measureCommand('sha256sum', [file.path])))
  byTool.set(key(mode, 'openssl dgst'), await measure(file, mode, 'openssl dgst', () => measureCommand('openssl', ['dgst', '-sha256', file.path])))
  perFile.set(file, byTool)
  rows.push(...byTool.values())
}

const loadAfter = loadavg()[0]!
const cores = availableParallelism()
const out: string[] = []
out.push('', `Inspect benchmark — node ${process.version}, ${process.platform}/${process.arch}, ${cores} cores; median of ${RUNS} fresh processes (1 when > ${REPEAT_BELOW_MS / 1000} s)`)
out.push(`Load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)}${Math.max(loadBefore, loadAfter) > cores / 2 ? ' — WARNING: the machine was busy; times are inflated and noisy' : ''}`)
for (const [mode, floor] of floors) {
  out.push(`Node's own floor [${mode}]: \`node -e 0\` ${fmt(floor.nodeE.ms)} ms, peak RSS ${fmt(floor.nodeE.rssMiB, 1)} MiB; a TypeScript child doing nothing (bench/child-inspect.ts noop): ${fmt(floor.tsChild.processMs)} ms, ${fmt(floor.tsChild.rssMiB, 1)} MiB — included in the figures below.`)
}
out.push('')
out.push(
  table(
    ['file', 'mode', 'tool', 'cold ms', 'cold CPU ms', 'warm ms', 'process ms', 'import ms', 'RSS before', 'peak RSS MiB', 'call +RSS', 'MiB/s', 'result'],
    rows.map((row) => {
      const size = row.file.bytes / MiB
      const hashes = ['airstrip-hash', 'airstrip-sha256', 'sha256sum', 'openssl dgst'].includes(row.tool)
      const importMs = median(row.samples.filter((s) => s.ok && s.importMs !== null).map((s) => s.importMs!))
      return [
        formatSize(row.file.bytes),
        ['airstrip-sha256', 'sha256sum', 'openssl dgst'].includes(row.tool) ? '' : row.mode,
        row.tool,
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
    [3, 4, 5, 6, 7, 8, 9, 10, 11],
  ),
)
out.push(
  '',
  '"cold ms": the first inspection call in a fresh child (no start-up/import), median of the runs; for commands (airstrip CLI,',
  'sha256sum, openssl), the whole command. "cold CPU ms": CPU time (user+system, all threads, JIT compilers included) of that call.',
  '"warm ms": median of calls 2..N in one process (JIT warm, as in a long-running server). "process ms": spawn to exit, Node',
  'start-up and imports included. "RSS before": after imports, before the call; "peak RSS": the child\'s maxRSS after the cold',
  'call (worst run); "call +RSS": peak minus before. MiB/s: file size / cold time. The tools run interleaved (run 1 of each,',
  'then run 2, ...); the cold, CPU and process ratios below are medians of the per-run ratios, the figures medians of the runs.',
  '',
)

const targets: string[][] = []
const mibps = (file: GeneratedIpa, ms: number | null): number | null => (ms ? file.bytes / MiB / (ms / 1000) : null)
for (const [file, byTool] of perFile) {
  const size = formatSize(file.bytes)
  for (const mode of MODES) {
    const meta = byTool.get(key(mode, 'airstrip-meta'))!
    const hash = byTool.get(key(mode, 'airstrip-hash'))!
    const peer = byTool.get(key(mode, 'app-info-parser'))!
    const cli = byTool.get(key(mode, 'airstrip CLI'))!
    const where = `${size} [${mode}]`
    // Ratios are medians of per-run ratios (the tools ran side by side), figures medians of runs.
    const speedup = pairedRatio(peer, meta, 'ms')
    const speedupText = peer.ms === null ? `app-info-parser failed (${peer.error}); Airstrip ${fmt(meta.ms)} ms` : `${fmt(speedup, 1)}x (${fmt(peer.ms)} / ${fmt(meta.ms)} ms)`
    const speedupVerdict = meta.ms === null ? 'n/a (Airstrip failed)' : peer.ms === null ? 'n/a (peer failed)' : verdict(speedup !== null && speedup >= 20)
    targets.push([where, 'metadata >= 20x faster than app-info-parser (cold call)', speedupText, speedupVerdict])
    const cpuSpeedup = pairedRatio(peer, meta, 'cpuMs')
    targets.push([where, 'metadata >= 20x less CPU than app-info-parser (cold call)', `${fmt(cpuSpeedup, 1)}x (${fmt(peer.cpuMs)} / ${fmt(meta.cpuMs)} CPU ms)`, cpuSpeedup === null ? 'n/a' : verdict(cpuSpeedup >= 20)])
    const warmSpeedup = ratio(peer.warmMs, meta.warmMs)
    targets.push([where, 'metadata >= 20x faster than app-info-parser (warm call)', `${fmt(warmSpeedup, 1)}x (${fmt(peer.warmMs)} / ${fmt(meta.warmMs)} ms)`, warmSpeedup === null ? 'n/a' : verdict(warmSpeedup >= 20)])
    // The same comparison with Node's start-up and the imports counted on both sides: the floor
    // (`node -e 0`) is the same for both and caps this ratio whatever Airstrip does.
    const processSpeedup = pairedRatio(peer, meta, 'processMs')
    const floorMs = floors.get(mode)?.nodeE.ms ?? null
    targets.push([
      where,
      'whole child process, start-up included (info)',
      `${fmt(processSpeedup, 1)}x (${fmt(peer.processMs)} / ${fmt(meta.processMs)} ms; \`node -e 0\` alone ${fmt(floorMs)} ms)`,
      'info',
    ])
    const peaks = [meta.rssMiB, hash.rssMiB].filter((value): value is number => value !== null)
    const peak = peaks.length ? Math.max(...peaks) : null
    targets.push([
      where,
      'Airstrip peak RSS < 100 MiB',
      `meta ${fmt(meta.rssMiB, 1)} (+${fmt(meta.rssMiB !== null && meta.rssBeforeMiB !== null ? meta.rssMiB - meta.rssBeforeMiB : null, 1)} in the call), hash ${fmt(hash.rssMiB, 1)} (+${fmt(hash.rssMiB !== null && hash.rssBeforeMiB !== null ? hash.rssMiB - hash.rssBeforeMiB : null, 1)}) MiB; app-info-parser ${fmt(peer.rssMiB, 1)} MiB`,
      peak === null ? 'n/a (Airstrip failed)' : verdict(peak < 100),
    ])
    targets.push([where, 'the `airstrip inspect` command itself (info)', `${fmt(cli.ms)} ms, peak RSS ${fmt(cli.rssMiB, 1)} MiB (loads every command's modules)`, 'info'])
  }
  const baselineHash = [byTool.get(key(MODES[0]!, 'sha256sum'))!, byTool.get(key(MODES[0]!, 'openssl dgst'))!].filter((r) => r.ms !== null).sort((a, b) => a.ms! - b.ms!)[0]
  const hash = byTool.get(key(MODES[0]!, 'airstrip-hash'))!
  const sha = byTool.get(key(MODES[0]!, 'airstrip-sha256'))!
  const base = mibps(file, baselineHash?.ms ?? null)
  const relative = (value: number | null): string => (value && base ? `${fmt(value / base, 2)}x` : '-')
  targets.push([
    size,
    'hashing throughput vs fastest CLI hash (same run)',
    `full pass ${fmt(mibps(file, hash.ms))} MiB/s (${relative(mibps(file, hash.ms))}), hashSource alone ${fmt(mibps(file, sha.ms))} MiB/s (${relative(mibps(file, sha.ms))}); ${baselineHash?.tool ?? '-'} ${fmt(base)} MiB/s`,
    'info',
  ])
}
if (files.length >= 2) {
  const [first, last] = [perFile.get(files[0]!)!, perFile.get(files.at(-1)!)!]
  for (const mode of MODES) {
    for (const tool of ['airstrip-meta', 'airstrip-hash'] as const) {
      const a = first.get(key(mode, tool))!.rssMiB
      const b = last.get(key(mode, tool))!.rssMiB
      const delta = a !== null && b !== null ? b - a : null
      targets.push([
        `${formatSize(files[0]!.bytes)} -> ${formatSize(files.at(-1)!.bytes)} [${mode}]`,
        `Airstrip peak RSS flat, ${tool} (within ${FLAT_TOLERANCE_MiB} MiB)`,
        `${fmt(a, 1)} -> ${fmt(b, 1)} MiB (${delta !== null && delta >= 0 ? '+' : ''}${fmt(delta, 1)} MiB)`,
        delta === null ? 'n/a' : verdict(Math.abs(delta) <= FLAT_TOLERANCE_MiB),
      ])
    }
  }
}
out.push(table(['file', 'target', 'figures', 'verdict'], targets), '')
console.log(out.join('\n'))
