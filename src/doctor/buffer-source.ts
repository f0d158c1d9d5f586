import { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'
import type { RandomAccessSource } from '../ipa/source.ts'

/**
 * A `RandomAccessSource` over bytes already in memory: a small .ipa downloaded whole because its
 * server ignores Range requests (bounded by `DOCTOR_LIMITS.ipaDownloadWithoutRangeBytes`).
 */
export class BufferSource implements RandomAccessSource {
  readonly size: number
  readonly #bytes: Buffer

  constructor(bytes: Buffer) {
    this.#bytes = bytes
    this.size = bytes.length
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (offset < 0 || length < 0 || offset + length > this.size) throw new AirstripError('archive-corrupt', `unexpected end of file at byte ${this.size}`)
    return Buffer.from(this.#bytes.subarray(offset, offset + length))
  }

  async readInto(buffer: Buffer, position: number): Promise<number> {
    return position >= this.size ? 0 : this.#bytes.copy(buffer, 0, position, Math.min(this.size, position + buffer.length))
  }

  stream(start: number, end: number): Readable {
    return Readable.from([this.#bytes.subarray(start, Math.min(end, this.size))].filter((chunk) => chunk.length > 0), { objectMode: false })
  }

  async close(): Promise<void> {}
}
