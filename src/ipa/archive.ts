import type { Readable } from 'node:stream'
import { PassThrough } from 'node:stream'
import { crc32 } from 'node:zlib'
import yauzl from 'yauzl'
import { AirstripError } from '../errors.ts'
import { LIMITS } from './limits.ts'
import type { RandomAccessSource } from './source.ts'

/** One entry of the central directory, as far as Airstrip cares. */
export interface ArchiveEntry {
  readonly name: string
  readonly compressedSize: number
  readonly uncompressedSize: number
  readonly crc32: number
}

/** What a scan of the central directory found; entries are filtered by `keep` to bound memory. */
export interface Archive {
  readonly entryCount: number
  /** Kept entries by name. */
  readonly entries: ReadonlyMap<string, ArchiveEntry>
  /** Reads a whole entry into memory, refusing (declared or actual) sizes above `cap`. */
  readEntry(entry: ArchiveEntry, cap: number): Promise<Buffer>
  /** Streams an entry (inflating as it goes); sizes are validated by yauzl, the CRC is not. Errors carry codes. */
  openEntry(entry: ArchiveEntry): Promise<Readable>
}

/** Reads only the central directory and keeps the entries `keep` selects (all others are just counted). */
export async function openArchive(source: RandomAccessSource, keep: (name: string) => boolean): Promise<Archive> {
  const zip = await asArchiveError(
    yauzl.fromRandomAccessReaderPromise(new SourceReader(source), source.size, { lazyEntries: true, autoClose: false, strictFileNames: false }),
  ).catch(async (error: unknown) => {
    // A ZIP whose end was cut off (an interrupted copy or upload) is damaged, not "not a ZIP".
    if (error instanceof AirstripError && error.code === 'not-a-zip' && source.size >= 4) {
      const magic = await source.read(0, 4)
      if (magic.readUInt32LE(0) === 0x04034b50) throw new AirstripError('archive-corrupt', 'the archive is truncated: its central directory is missing', { cause: error })
    }
    throw error
  })
  const raw = new Map<string, yauzl.Entry>()
  const entries = new Map<string, ArchiveEntry>()
  if (zip.entryCount > LIMITS.archiveEntries) {
    throw new AirstripError('too-many-entries', `the archive declares ${zip.entryCount} entries; at most ${LIMITS.archiveEntries} are accepted`)
  }
  await asArchiveError(
    new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        if (keep(entry.fileName) && !raw.has(entry.fileName)) {
          raw.set(entry.fileName, entry)
          entries.set(entry.fileName, {
            name: entry.fileName,
            compressedSize: entry.compressedSize,
            uncompressedSize: entry.uncompressedSize,
            crc32: entry.crc32,
          })
        }
        zip.readEntry()
      })
      zip.once('end', resolve)
      zip.once('error', reject)
      zip.readEntry()
    }),
  )

  const rawOf = (entry: ArchiveEntry): yauzl.Entry => {
    const found = raw.get(entry.name)
    if (!found) throw new Error(`entry ${entry.name} was not kept when the archive was opened`)
    if (found.isEncrypted()) throw new AirstripError('archive-corrupt', `${entry.name} is encrypted`)
    return found
  }

  return {
    entryCount: zip.entryCount,
    entries,
    async openEntry(entry) {
      const stream = await asArchiveError(zip.openReadStreamPromise(rawOf(entry)))
      const out = new PassThrough({ highWaterMark: 1024 * 1024 })
      stream.on('error', (error) => out.destroy(toArchiveError(error) as Error))
      // A consumer that stops early (e.g. once the code signature is found) stops the inflation too.
      out.on('close', () => stream.destroy())
      return stream.pipe(out)
    },
    async readEntry(entry, cap) {
      if (entry.uncompressedSize > cap) {
        throw new AirstripError('entry-too-large', `${entry.name} is ${entry.uncompressedSize} bytes; at most ${cap} are read`)
      }
      const stream = await asArchiveError(zip.openReadStreamPromise(rawOf(entry)))
      const chunks: Buffer[] = []
      let length = 0
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          length += chunk.length
          if (length > cap) throw new AirstripError('entry-too-large', `${entry.name} inflates past ${cap} bytes`)
          chunks.push(chunk)
        }
      } catch (error) {
        stream.destroy()
        throw toArchiveError(error)
      }
      const data = Buffer.concat(chunks, length)
      // yauzl checks sizes but not CRC-32: a damaged entry must not be read as valid data.
      if (crc32(data) !== entry.crc32) throw new AirstripError('archive-corrupt', `CRC-32 mismatch in ${entry.name}`)
      return data
    },
  }
}

/** yauzl reports problems as plain Errors; turn them into the codes the rest of Airstrip speaks. */
export function toArchiveError(error: unknown): unknown {
  if (error instanceof AirstripError || !(error instanceof Error)) return error
  const message = error.message
  if (/end of central directory record signature not found/i.test(message)) {
    return new AirstripError('not-a-zip', undefined, { cause: error })
  }
  if (/invalid relative path|absolute path|invalid characters in fileName/i.test(message)) {
    return new AirstripError('unsafe-entry-name', `unsafe entry name: ${message.replace(/^.*?: /, '')}`, { cause: error })
  }
  return new AirstripError('archive-corrupt', `the archive is damaged: ${message}`, { cause: error })
}

async function asArchiveError<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise
  } catch (error) {
    throw toArchiveError(error)
  }
}

const WINDOW = 256 * 1024

/**
 * yauzl reader over a RandomAccessSource. yauzl reads the central directory in many tiny reads
 * (two per entry); a read-ahead window turns 40,000 reads of a 20,000-entry archive into a few.
 */
class SourceReader extends yauzl.RandomAccessReader {
  #source: RandomAccessSource
  #window: { start: number; bytes: Buffer } | null = null

  constructor(source: RandomAccessSource) {
    super()
    this.#source = source
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return this.#source.stream(start, end)
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.#read(buffer, offset, length, position).then(() => callback(null), callback)
  }

  async #read(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    if (length > WINDOW) {
      ;(await this.#source.read(position, length)).copy(buffer, offset)
      return
    }
    let window = this.#window
    if (!window || position < window.start || position + length > window.start + window.bytes.length) {
      const windowLength = Math.min(WINDOW, this.#source.size - position)
      if (windowLength < length) throw new Error('unexpected EOF')
      window = { start: position, bytes: await this.#source.read(position, windowLength) }
      this.#window = window
    }
    window.bytes.copy(buffer, offset, position - window.start, position - window.start + length)
  }
}
