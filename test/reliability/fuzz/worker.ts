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

process.send?.({ ready: true })
