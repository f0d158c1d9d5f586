/**
 * The fuzz worker: a child process (forked by campaign.ts with a heap cap) that runs one input at a
 * time and reports how it ended. An exception nobody caught, or a rejection nobody handled, is
 * reported against the input that was running (or ran last) and ends the worker.
 */
import type { TargetName } from './corpus.ts'
import { runTarget } from './targets.ts'

export interface WorkerRequest {
  id: number
  target: TargetName
  bytes: Uint8Array
}

export interface WorkerReply {
  id: number
  outcome: Awaited<ReturnType<typeof runTarget>> | { kind: 'unhandled'; name: string; message: string; stack: string }
  ms: number
  rssBytes: number
}

// Deep stacks: the frames inside src/ name a finding.
Error.stackTraceLimit = 50

let current = -1

const send = (reply: WorkerReply): void => void process.send?.(reply)

const unhandled = (error: unknown): void => {
  const e = error instanceof Error ? error : new Error(String(error))
  send({ id: current, outcome: { kind: 'unhandled', name: e.name, message: e.message, stack: e.stack ?? '' }, ms: 0, rssBytes: process.memoryUsage.rss() })
  // Let the message go out before leaving.
  setTimeout(() => process.exit(70), 50)
}
process.on('uncaughtException', unhandled)
process.on('unhandledRejection', unhandled)
process.on('disconnect', () => process.exit(0))

process.on('message', (request: WorkerRequest) => {
  current = request.id
  const started = performance.now()
  void runTarget(request.target, Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength)).then((outcome) => {
    const ms = performance.now() - started
    // After the rejections this input left unhandled have surfaced (they come before immediates).
    setImmediate(() => send({ id: request.id, outcome, ms, rssBytes: process.memoryUsage.rss() }))
  })
})

/**
 * How slow this machine is right now: the best of three parses of a 10,000-key XML plist after a
 * warm-up (under 100 ms on an idle 2-core VM). The campaign scales its time limit by it, so "2 s"
 * keeps meaning 2 s of an idle machine when CI runs other suites beside this one.
 */
async function calibrate(): Promise<number> {
  const { parsePlist } = await import('../../../src/ipa/plist.ts')
  const xml = Buffer.from(`<?xml version="1.0"?><plist version="1.0"><dict>${'<key>k</key><string>v</string>'.repeat(10_000)}</dict></plist>`)
  parsePlist(xml) // warm-up: the first run also compiles
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const started = performance.now()
    parsePlist(xml)
    best = Math.min(best, performance.now() - started)
  }
  return best
}

process.send?.({ ready: true, calibrationMs: await calibrate() })
