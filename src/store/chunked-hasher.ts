import { createHash } from 'node:crypto'
import type { Hash } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/** What `createChunkedHasher` produces once all bytes are in. */
export interface ChunkedDigest {
  sha256: string
  size: number
  chunkSha256s: string[]
}

/**
 * Hashes a byte stream twice in one pass: SHA-256 of the whole, and SHA-256 of each `chunkSize`
 * chunk. Chunk boundaries are exact whatever pieces the bytes arrive in, because iOS checks the
 * manifest's `sha256s` against fixed `sha256-size` chunks of the downloaded .ipa.
 *
 * NB! The hash worker runs this function's own source (see `WORKER_SOURCE`): keep it free of
 * references to anything but `createHash` and globals.
 */
export function createChunkedHasher(chunkSize: number): { update(bytes: Uint8Array): void; digest(): ChunkedDigest } {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
  const whole = createHash('sha256')
  const chunkSha256s: string[] = []
  let chunk: Hash | null = null
  let chunkFill = 0
  let size = 0
  return {
    update(bytes) {
      whole.update(bytes)
      size += bytes.length
      let offset = 0
      while (offset < bytes.length) {
        chunk ??= createHash('sha256')
        const take = Math.min(chunkSize - chunkFill, bytes.length - offset)
        chunk.update(bytes.subarray(offset, offset + take))
        chunkFill += take
        offset += take
        if (chunkFill === chunkSize) {
          chunkSha256s.push(chunk.digest('hex'))
          chunk = null
          chunkFill = 0
        }
      }
    },
    digest() {
      if (chunk) chunkSha256s.push(chunk.digest('hex'))
      chunk = null
      return { sha256: whole.digest('hex'), size, chunkSha256s }
    },
  }
}

/**
 * `createChunkedHasher` on a worker thread, for large uploads: the two SHA-256 passes cost ~1 s of
 * CPU per GiB, which on the main thread would sit in line with TLS decryption and every other
 * request. `update` takes views of a SharedArrayBuffer (nothing is copied) and resolves once the
 * worker has hashed them, after which the caller may overwrite that memory; updates are hashed in
 * the order given. `abort` drops the session (after a failed upload); it is idempotent.
 */
export interface WorkerChunkedHasher {
  update(bytes: Uint8Array): Promise<void>
  digest(): Promise<ChunkedDigest>
  abort(): void
}

/** Starts a hashing session on the shared hash worker (started on first use, see `hashWorker`). */
export function createWorkerChunkedHasher(chunkSize: number): WorkerChunkedHasher {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
  const worker = hashWorker()
  const id = worker.open(chunkSize)
  let open = true
  return {
    update(bytes) {
      if (!(bytes.buffer instanceof SharedArrayBuffer)) return Promise.reject(new TypeError('the hash worker reads SharedArrayBuffer views only'))
      if (!open) return Promise.reject(new Error('hashing session is closed'))
      return worker.request<void>(id, { type: 'update', bytes })
    },
    digest() {
      if (!open) return Promise.reject(new Error('hashing session is closed'))
      open = false
      return worker.request<ChunkedDigest>(id, { type: 'digest' }).finally(() => worker.close(id))
    },
    abort() {
      if (!open) return
      open = false
      worker.close(id)
    },
  }
}

/** A worker idle this long is stopped: a server between uploads gives its memory (~15 MiB) back. */
const IDLE_STOP_MS = 30_000

/**
 * The worker's code: plain JavaScript, evaluated rather than loaded from a .ts file, because a
 * TypeScript entry point would make the worker load Node's type stripper too (measured +15 MiB RSS).
 * It embeds `createChunkedHasher` itself (Function#toString gives the source Node ran, types
 * already stripped), so main thread and worker share one implementation of the chunk boundaries.
 * Replies come in the order requests were posted.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const createChunkedHasher = ${createChunkedHasher.toString()}
const sessions = new Map()
parentPort.on('message', (message) => {
  const { id, type } = message
  try {
    if (type === 'open') sessions.set(id, createChunkedHasher(message.chunkSize))
    else if (type === 'close') sessions.delete(id)
    else if (type === 'update') { sessions.get(id).update(message.bytes); parentPort.postMessage({ id }) }
    else if (type === 'digest') { const digest = sessions.get(id).digest(); sessions.delete(id); parentPort.postMessage({ id, digest }) }
  } catch (error) {
    sessions.delete(id)
    parentPort.postMessage({ id, error: String(error && error.message || error) })
  }
})
`

interface HashWorker {
  open(chunkSize: number): number
  request<T>(id: number, message: { type: 'update'; bytes: Uint8Array } | { type: 'digest' }): Promise<T>
  close(id: number): void
}

let shared: HashWorker | null = null

/**
 * The one hash worker of this process, started on first use and stopped after IDLE_STOP_MS
 * without sessions (meanwhile it does not keep the process alive). Concurrent uploads share it
 * (each request is small: a view of shared memory). If it dies, every pending request fails and
 * the next session starts a new one.
 */
function hashWorker(): HashWorker {
  if (shared) return shared
  const worker = new Worker(WORKER_SOURCE, { eval: true })
  // Per session, the callbacks of its pending requests, oldest first (the worker answers in order).
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }[]>()
  let nextId = 1
  let idleTimer: NodeJS.Timeout | null = null
  const stopWhenIdle = (): void => {
    if (pending.size > 0 || idleTimer) return
    // Sessions keep the process alive (their answers are awaited); an idle worker does not.
    worker.unref()
    idleTimer = setTimeout(() => {
      if (shared === self) shared = null
      void worker.terminate()
    }, IDLE_STOP_MS)
    idleTimer.unref()
  }
  const failAll = (error: Error): void => {
    if (shared === self) shared = null
    for (const queue of pending.values()) for (const waiter of queue) waiter.reject(error)
    pending.clear()
  }
  worker.on('message', (message: { id: number; digest?: ChunkedDigest; error?: string }) => {
    const waiter = pending.get(message.id)?.shift()
    if (!waiter) return
    if (message.error !== undefined) waiter.reject(new Error(`hash worker: ${message.error}`))
    else waiter.resolve(message.digest)
  })
  worker.on('error', failAll)
  worker.on('exit', (code) => failAll(new Error(`hash worker exited (code ${code})`)))

  const self: HashWorker = {
    open(chunkSize) {
      if (idleTimer) clearTimeout(idleTimer)
      idleTimer = null
      worker.ref()
      const id = nextId++
      pending.set(id, [])
      worker.postMessage({ id, type: 'open', chunkSize })
      return id
    },
    request<T>(id: number, message: { type: 'update'; bytes: Uint8Array } | { type: 'digest' }) {
      const queue = pending.get(id)
      if (!queue) return Promise.reject(new Error('hashing session is closed'))
      return new Promise<T>((resolve, reject) => {
        queue.push({ resolve: resolve as (value: unknown) => void, reject })
        worker.postMessage({ id, ...message })
      })
    },
    close(id) {
      const queue = pending.get(id)
      if (!queue) return
      pending.delete(id)
      for (const waiter of queue) waiter.reject(new Error('hashing session is closed'))
      worker.postMessage({ id, type: 'close' })
      stopWhenIdle()
    },
  }
  shared = self
  return self
}
