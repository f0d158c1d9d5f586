/** Anything that fills a buffer from a position: a blob reader, an open file. */
export interface PositionalReader {
  /** Fills `into` from `position` on; resolves with how many bytes were read (0 at the end). `into` is not touched after the promise settles. */
  read(into: Uint8Array, position: number): Promise<number>
}

/** The part of a writable (a server response, a client request) a paced copy needs. */
export interface PacedTarget {
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean
  end(): unknown
  once(event: 'close', listener: () => void): unknown
  off(event: 'close', listener: () => void): unknown
  readonly destroyed: boolean
}

export interface PacedCopyOptions {
  /** Size of each of the two buffers. */
  bufferSize: number
  /** Told the running total of bytes the target has taken, after each write completes. */
  onWritten?: (sent: number) => void
  /** Stops the copy (no further read or write; the target is neither ended nor destroyed). */
  signal?: AbortSignal
}

/**
 * Copies bytes `start`…`end` (inclusive) of `reader` to `target` through two reused buffers: the
 * next chunk is read into one while the other is being written. One write at a time, and the next
 * only after the write callback: a slow peer holds at most one chunk in the TLS layer beyond the
 * kernel's socket buffer (backpressure), and a buffer is never refilled while the socket may still
 * read it. Resolves with the number of bytes the target took, once all is written and the target
 * ended, or the target closed, or `signal` aborted (never with a read in flight, so the caller may
 * close the reader); rejects on a read error.
 *
 * Why not `stream.pipeline(createReadStream(…), target)`: a file stream allocates a new buffer for
 * every chunk, and the garbage (external memory, collected late) made a 1 GiB transfer's resident
 * memory climb by tens of MiB per connection. Callbacks rather than an async loop: per chunk this
 * allocates one read promise and nothing else.
 */
export function pacedCopy(reader: PositionalReader, target: PacedTarget, start: number, end: number, options: PacedCopyOptions): Promise<number> {
  const bufferSize = Math.max(1, Math.min(options.bufferSize, end - start + 1))
  const buffers = [Buffer.allocUnsafeSlow(bufferSize), Buffer.allocUnsafeSlow(bufferSize)] as const
  const { onWritten, signal } = options
  return new Promise<number>((resolve, reject) => {
    let position = start
    /** Bytes whose write completed, and the size of the write in flight. */
    let sent = 0
    let inFlight = 0
    let turn: 0 | 1 = 0
    let reading = false
    let writing = false
    /** A chunk read and waiting for the write in flight to finish. */
    let ready: Buffer | null = null
    let outcome: { error: unknown } | null = null

    const settle = (error?: unknown): void => {
      outcome ??= { error }
      if (reading) return // settled again from onRead: the reader must not be closed under a read
      target.off('close', onClose)
      signal?.removeEventListener('abort', onClose)
      if (outcome.error === undefined) resolve(sent)
      else reject(outcome.error)
    }
    const onClose = (): void => settle()
    const onWrite = (error?: Error | null): void => {
      writing = false
      if (error) return settle() // the peer went away
      sent += inFlight
      onWritten?.(sent)
      pump()
    }
    const onRead = (read: number): void => {
      reading = false
      if (outcome) return settle()
      if (read === 0) return settle(new Error(`source ended at byte ${position}, before byte ${end}`))
      const buffer = buffers[turn]
      ready = read === buffer.length ? buffer : buffer.subarray(0, read)
      position += read
      turn = turn === 0 ? 1 : 0
      pump()
    }
    const onReadError = (error: unknown): void => {
      reading = false
      settle(outcome ? undefined : error)
    }
    const pump = (): void => {
      if (outcome) return
      if (ready && !writing) {
        writing = true
        const chunk = ready
        ready = null
        inFlight = chunk.length
        target.write(chunk, onWrite)
      }
      if (!ready && !reading && position <= end) {
        // The buffer read into now is the one written before `ready`'s: its write has completed.
        reading = true
        const buffer = buffers[turn]
        const want = Math.min(bufferSize, end - position + 1)
        reader.read(want === bufferSize ? buffer : buffer.subarray(0, want), position).then(onRead, onReadError)
      } else if (!ready && !reading && !writing) {
        target.end()
        settle()
      }
    }

    target.once('close', onClose)
    signal?.addEventListener('abort', onClose, { once: true })
    if (target.destroyed || signal?.aborted) settle()
    else pump()
  })
}
