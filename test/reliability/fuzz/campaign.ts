/**
 * Runs fuzz inputs in a worker process and judges each: a result or a coded AirstripError within
 * the time limit (2 s) and the memory limit, or a finding — `crash` (an uncoded exception),
 * `unhandled` (an exception or rejection nobody caught), `hang` (over the limit twice, the second
 * time alone in a fresh worker, so a busy machine is not mistaken for a hang), `oom` (the heap cap
 * or the RSS watchdog), `exit` (the worker died otherwise). Findings are written as files that
 * become regression fixtures.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TargetName } from './corpus.ts'
import type { FuzzInput } from './generator.ts'
import type { WorkerReply, WorkerRequest } from './worker.ts'

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))

export interface Limits {
  /** Per input (the issue: 2 s). */
  timeoutMs: number
  /** The worker's V8 heap cap (--max-old-space-size). */
  heapMb: number
  /** Resident memory the worker may reach (heap + buffers + code); polled while an input runs. */
  rssBytes: number
}

export const DEFAULT_LIMITS: Limits = { timeoutMs: 2000, heapMb: 512, rssBytes: 1024 * 1024 * 1024 }

/** The worker's calibration workload takes about this long on an idle machine (worker.ts `calibrate`). */
const CALIBRATION_REFERENCE_MS = 100
/** However busy the machine, the time limit grows at most this much. */
const MAX_TIMEOUT_SCALE = 5

export type FindingKind = 'crash' | 'unhandled' | 'hang' | 'oom' | 'exit'

export interface Finding {
  kind: FindingKind
  target: TargetName
  recipe: string
  detail: string
  /** The input, saved under the findings folder (absent when none was given). */
  file: string | null
  sha256: string
}

export interface TargetStats {
  runs: number
  ok: number
  codes: Record<string, number>
}

export interface CampaignStats {
  inputs: number
  byTarget: Partial<Record<TargetName, TargetStats>>
  findings: Finding[]
  maxMs: number
  /** The slowest input (to see which parser spends the time budget). */
  slowest: { ms: number; target: TargetName; recipe: string; sha256: string } | null
  over500Ms: number
  /** Inputs that exceeded the limit once but passed when retried alone (a busy machine). */
  slowRetried: number
  maxRssBytes: number
  /** The largest factor the time limit was scaled by (1 on an idle machine; see CALIBRATION_REFERENCE_MS). */
  maxTimeoutScale: number
  workerStarts: number
  durationMs: number
  inputBytes: number
}

type Attempt = { reply: WorkerReply } | { failure: 'timeout' | 'oom' | 'exit'; detail: string }

/** One forked worker with a heap cap and an RSS watchdog; replaced whenever it dies or is killed. */
class Worker {
  readonly #limits: Limits
  #child: ChildProcess | null = null
  #ready: Promise<void> | null = null
  #stderr = ''
  starts = 0
  /** The time limit's factor for the current worker: how much slower than idle the machine measured at its start. */
  scale = 1
  maxScale = 1

  constructor(limits: Limits) {
    this.#limits = limits
  }

  async #start(): Promise<ChildProcess> {
    if (this.#child && this.#ready) {
      await this.#ready
      return this.#child
    }
    this.starts++
    this.#stderr = ''
    const child = fork(WORKER, [], {
      execArgv: [`--max-old-space-size=${this.#limits.heapMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    })
    child.stderr?.on('data', (chunk: Buffer) => void (this.#stderr = (this.#stderr + chunk.toString()).slice(-4000)))
    this.#child = child
    this.#ready = new Promise((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        const ready = message as { ready?: boolean; calibrationMs?: number }
        if (ready.ready) {
          this.scale = Math.min(MAX_TIMEOUT_SCALE, Math.max(1, (ready.calibrationMs ?? 0) / CALIBRATION_REFERENCE_MS))
          this.maxScale = Math.max(this.maxScale, this.scale)
          child.off('exit', onExit)
          child.off('message', onMessage)
          resolve()
        }
      }
      const onExit = (): void => reject(new Error(`fuzz worker failed to start:\n${this.#stderr}`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
    await this.#ready
    return child
  }

  kill(): void {
    this.#child?.kill('SIGKILL')
    this.#child = null
    this.#ready = null
  }

  async run(request: WorkerRequest): Promise<Attempt> {
    const child = await this.#start()
    return new Promise<Attempt>((resolve) => {
      let settled = false
      const finish = (attempt: Attempt, kill: boolean): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        clearInterval(watchdog)
        child.off('message', onMessage)
        child.off('exit', onExit)
        if (kill) this.kill()
        resolve(attempt)
      }
      const onMessage = (reply: WorkerReply): void => {
        if (reply.id !== request.id) return
        // An unhandled error also ends the worker: start afresh for the next input.
        finish({ reply }, reply.outcome.kind === 'unhandled')
      }
      const onExit = (code: number | null, signal: string | null): void => {
        this.#child = null
        this.#ready = null
        const oom = /heap out of memory|Allocation failed|ERR_MEMORY_ALLOCATION_FAILED/i.test(this.#stderr)
        finish({ failure: oom ? 'oom' : 'exit', detail: `worker exited (code ${code}, signal ${signal}): ${this.#stderr.slice(-1500)}` }, false)
      }
      const limitMs = this.#limits.timeoutMs * this.scale
      const timer = setTimeout(() => finish({ failure: 'timeout', detail: `no answer within ${limitMs.toFixed(0)} ms (${this.#limits.timeoutMs} ms × ${this.scale.toFixed(2)}, the machine's measured slowness)` }, true), limitMs)
      const watchdog = setInterval(() => {
        const rss = residentBytes(child.pid)
        if (rss > this.#limits.rssBytes) finish({ failure: 'oom', detail: `worker RSS ${(rss / 2 ** 20).toFixed(0)} MiB > ${(this.#limits.rssBytes / 2 ** 20).toFixed(0)} MiB` }, true)
      }, 20)
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.send(request)
    })
  }
}

/** A process's resident set size from /proc (Linux); 0 where that is not available. */
function residentBytes(pid: number | undefined): number {
  if (!pid) return 0
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096
  } catch {
    return 0
  }
}

export interface CampaignOptions {
  limits?: Partial<Limits>
  /** Where failing inputs are written (`<target>-<sha256 prefix>.bin`); none are written when absent. */
  findingsDir?: string
  /** Stop after this long even if inputs remain. */
  deadlineMs?: number
  onProgress?: (stats: CampaignStats) => void
}

/** Runs every input the source yields; resolves with the figures and the findings. */
export async function runCampaign(inputs: AsyncIterable<FuzzInput> | Iterable<FuzzInput>, options: CampaignOptions = {}): Promise<CampaignStats> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  const worker = new Worker(limits)
  const started = Date.now()
  const stats: CampaignStats = { inputs: 0, byTarget: {}, findings: [], maxMs: 0, slowest: null, over500Ms: 0, slowRetried: 0, maxRssBytes: 0, maxTimeoutScale: 1, workerStarts: 0, durationMs: 0, inputBytes: 0 }
  const seen = new Set<string>()
  let id = 0
  try {
    for await (const input of inputs) {
      if (options.deadlineMs !== undefined && Date.now() - started > options.deadlineMs) break
      stats.inputs++
      stats.inputBytes += input.bytes.length
      const request: WorkerRequest = { id: ++id, target: input.target, bytes: input.bytes }
      let attempt = await worker.run(request)
      if ('failure' in attempt && attempt.failure === 'timeout') {
        // Once more, alone in a fresh worker: only a second timeout counts as a hang.
        attempt = await worker.run({ ...request, id: ++id })
        if ('reply' in attempt) stats.slowRetried++
      }
      const target = (stats.byTarget[input.target] ??= { runs: 0, ok: 0, codes: {} })
      target.runs++
      if ('reply' in attempt) {
        const { outcome, ms, rssBytes } = attempt.reply
        if (ms > stats.maxMs) {
          stats.maxMs = ms
          stats.slowest = { ms, target: input.target, recipe: input.recipe, sha256: createHash('sha256').update(input.bytes).digest('hex') }
        }
        if (ms > 500) stats.over500Ms++
        stats.maxRssBytes = Math.max(stats.maxRssBytes, rssBytes)
        if (outcome.kind === 'ok') target.ok++
        else if (outcome.kind === 'coded') target.codes[outcome.code] = (target.codes[outcome.code] ?? 0) + 1
        else record(stats, seen, options.findingsDir, input, outcome.kind, `${outcome.name}: ${outcome.message}\n${outcome.stack}`)
      } else {
        record(stats, seen, options.findingsDir, input, attempt.failure === 'timeout' ? 'hang' : attempt.failure, attempt.detail)
      }
      options.onProgress?.(stats)
    }
  } finally {
    worker.kill()
    stats.workerStarts = worker.starts
    stats.maxTimeoutScale = worker.maxScale
    stats.durationMs = Date.now() - started
  }
  return stats
}

function record(stats: CampaignStats, seen: Set<string>, dir: string | undefined, input: FuzzInput, kind: FindingKind, detail: string): void {
  // One finding per distinct place: the first stack frame inside src/ (or the message) names it.
  const where = /\(?([^\s()]*\/src\/[^\s()]+)\)?/.exec(detail)?.[1] ?? detail.split('\n')[0]!.replace(/\d+/g, 'N')
  const key = `${kind}|${input.target}|${where}`
  const sha256 = createHash('sha256').update(input.bytes).digest('hex')
  let file: string | null = null
  if (dir && !seen.has(key)) {
    mkdirSync(dir, { recursive: true })
    file = join(dir, `${input.target}-${sha256.slice(0, 16)}.bin`)
    writeFileSync(file, input.bytes)
  }
  if (seen.has(key)) return
  seen.add(key)
  stats.findings.push({ kind, target: input.target, recipe: input.recipe, detail: detail.slice(0, 3000), file, sha256 })
}
