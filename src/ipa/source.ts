import { open, type FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'

/**
 * Random access to the bytes of an archive. `ipa/` reads through this tiny interface only, so the
 * same code inspects a file on disk, an object in S3 or a remote deployment over HTTP Range
 * without downloading it whole.
 */
export interface RandomAccessSource {
  readonly size: number
  /** Exactly `length` bytes at `offset`; rejects when fewer are available. */
  read(offset: number, length: number): Promise<Buffer>
  /** Reads up to `buffer.length` bytes at `position` into `buffer` (reused by callers that scan); returns the count. */
  readInto(buffer: Buffer, position: number): Promise<number>
  /** The bytes in [start, end) as a stream. */
  stream(start: number, end: number): Readable
  close(): Promise<void>
}

const STREAM_CHUNK = 1024 * 1024

/** Opens a file as a `RandomAccessSource`; `file-not-found` when it cannot be opened. */
export async function openFileSource(path: string): Promise<RandomAccessSource> {
  let handle: FileHandle
  try {
    handle = await open(path, 'r')
  } catch (cause) {
    throw new AirstripError('file-not-found', `cannot open ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause })
  }
  const { size } = await handle.stat()
  return new FileSource(handle, size)
}

class FileSource implements RandomAccessSource {
  readonly size: number
  #handle: FileHandle

  constructor(handle: FileHandle, size: number) {
    this.#handle = handle
    this.size = size
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const { bytesRead } = await this.#handle.read(buffer, filled, length - filled, offset + filled)
      if (bytesRead === 0) throw new AirstripError('archive-corrupt', `unexpected end of file at byte ${offset + filled}`)
      filled += bytesRead
    }
    return buffer
  }

  async readInto(buffer: Buffer, position: number): Promise<number> {
    const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, position)
    return bytesRead
  }

  stream(start: number, end: number): Readable {
    const handle = this.#handle
    let position = start
    // Large reads: a plain 1 MiB-buffer loop is several times faster than small default chunks.
    return new Readable({
      highWaterMark: STREAM_CHUNK,
      async read() {
        try {
          const length = Math.min(STREAM_CHUNK, end - position)
          if (length <= 0) return void this.push(null)
          const buffer = Buffer.allocUnsafe(length)
          const { bytesRead } = await handle.read(buffer, 0, length, position)
          if (bytesRead === 0) return void this.destroy(new AirstripError('archive-corrupt', `unexpected end of file at byte ${position}`))
          position += bytesRead
          this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead))
        } catch (error) {
          this.destroy(error as Error)
        }
      },
    })
  }

  async close(): Promise<void> {
    await this.#handle.close()
  }
}
