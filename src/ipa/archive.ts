/**
 * The ZIP container of an .ipa: its central directory and the few entries `inspect` needs, read
 * through a `RandomAccessSource` (never the whole file, never extracted).
 *
 * Why not yauzl's reader (it was used here before): yauzl walks the central directory with two
 * small reads, an Entry object, a name split and an event per entry; on a 20,000-entry .ipa that
 * was about a third of a cold `inspect` and most of its garbage. Here the directory is read in a
 * few 1 MiB windows and each record is looked at in place: only the names are decoded. yauzl's rules
 * are kept: its exported `getFileNameLowLevel` decodes the rare names that are neither UTF-8 nor
 * printable ASCII (CP437, Info-ZIP Unicode Path), and names are refused as its `validateFileName`
 * refuses them. Entries are inflated with node:zlib; sizes and CRC-32 are checked.
 */
import { createRequire } from 'node:module'
import { crc32, createInflateRaw, inflateRaw, inflateRawSync } from 'node:zlib'
import { promisify } from 'node:util'
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
  /** Reads a whole entry into memory, refusing (declared or actual) sizes above `cap`; CRC-checked. */
  readEntry(entry: ArchiveEntry, cap: number): Promise<Buffer>
  /**
   * The entry's bytes as they inflate, in chunks; sizes are checked, the CRC is not. Stopping the
   * iteration early (`break`, `return()`) stops reading and inflating. Errors carry codes.
   */
  openEntry(entry: ArchiveEntry): AsyncIterable<Buffer>
}

interface StoredEntry extends ArchiveEntry {
  readonly nameLength: number
  readonly method: number
  readonly flags: number
  readonly localHeaderOffset: number
}

const EOCD_SIGNATURE = 0x06054b50
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50
const ZIP64_EOCD_SIGNATURE = 0x06064b50
const CENTRAL_SIGNATURE = 0x02014b50
const LOCAL_SIGNATURE = 0x04034b50
const EOCD_BYTES = 22
const ZIP64_LOCATOR_BYTES = 20
const CENTRAL_BYTES = 46
const LOCAL_BYTES = 30
const FLAG_ENCRYPTED = 0x1
const FLAG_STRONG_ENCRYPTION = 0x40
const FLAG_UTF8 = 0x800
const METHOD_STORED = 0
const METHOD_DEFLATED = 8
const EXTRA_ZIP64 = 0x0001
const EXTRA_UNICODE_PATH = 0x7075
/** Central directory read window; a record is at most 46 + 3 × 65,535 bytes, well under it. */
const DIRECTORY_WINDOW = 1024 * 1024
/**
 * Streaming (the executable): zlib inflates on the thread pool but needs the main thread between
 * two output chunks, and the main thread is busy parsing the profile and icon meanwhile. Large
 * chunks let the inflation run on in the background (measured: the signature is ready ~15 ms
 * sooner than with 256 KiB chunks on the benchmark's 8 MiB executable, same peak RSS).
 */
const INFLATE_CHUNK = 2 * 1024 * 1024
/** Compressed bytes per read when inflating a stream (two reused buffers). */
const INPUT_CHUNK = 1024 * 1024
const STORED_CHUNK = 1024 * 1024
/** Local extra fields (timestamps, ZIP64 sizes) are usually a few dozen bytes: read along with the header. */
const LOCAL_EXTRA_GUESS = 64
/** Entries up to this compressed size are inflated on the main thread (see readEntry). */
const SYNC_INFLATE_BYTES = 256 * 1024

const inflateRawAsync = promisify(inflateRaw)

const corrupt = (message: string, cause?: unknown): AirstripError =>
  new AirstripError('archive-corrupt', `the archive is damaged: ${message}`, cause === undefined ? undefined : { cause })

/** Reads only the central directory and keeps the entries `keep` selects (all others are just counted). */
export async function openArchive(source: RandomAccessSource, keep: (name: string) => boolean): Promise<Archive> {
  const end = await readEnd(source)
  if (end.entryCount > LIMITS.archiveEntries) {
    throw new AirstripError('too-many-entries', `the archive declares ${end.entryCount} entries; at most ${LIMITS.archiveEntries} are accepted`)
  }
  const entries = await scanDirectory(source, end, keep)
  return {
    entryCount: end.entryCount,
    entries,
    readEntry: (entry, cap) => readEntry(source, stored(entries, entry), cap),
    openEntry: (entry) => streamEntry(source, stored(entries, entry)),
  }
}

function stored(entries: Map<string, StoredEntry>, entry: ArchiveEntry): StoredEntry {
  const found = entries.get(entry.name)
  if (!found) throw new Error(`entry ${entry.name} was not kept when the archive was opened`)
  return found
}

interface DirectoryEnd {
  entryCount: number
  directoryOffset: number
}

/** Finds the end-of-central-directory record (and its ZIP64 form) in the last 64 KiB of the file. */
async function readEnd(source: RandomAccessSource): Promise<DirectoryEnd> {
  const tailLength = Math.min(source.size, ZIP64_LOCATOR_BYTES + EOCD_BYTES + 0xffff)
  const tail = tailLength >= EOCD_BYTES ? await source.read(source.size - tailLength, tailLength) : Buffer.alloc(0)
  for (let at = tail.length - EOCD_BYTES; at >= 0; at--) {
    if (tail.readUInt32LE(at) !== EOCD_SIGNATURE) continue
    const commentLength = tail.readUInt16LE(at + 20)
    if (commentLength !== tail.length - at - EOCD_BYTES) {
      throw corrupt(`the end-of-central-directory comment length (${commentLength}) does not match the file (${tail.length - at - EOCD_BYTES} bytes follow)`)
    }
    let entryCount = tail.readUInt16LE(at + 10)
    let directoryOffset = tail.readUInt32LE(at + 16)
    let disk = tail.readUInt16LE(at + 4)
    const locator = at - ZIP64_LOCATOR_BYTES
    if (locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR_SIGNATURE) {
      const recordOffset = uint64(tail, locator + 8)
      if (recordOffset + 56 > source.size) throw corrupt('the ZIP64 end-of-central-directory record lies past the end of the file')
      const record = await source.read(recordOffset, 56)
      if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) throw corrupt('invalid ZIP64 end-of-central-directory record signature')
      disk = record.readUInt32LE(16)
      entryCount = uint64(record, 32)
      directoryOffset = uint64(record, 48)
    }
    if (disk !== 0) throw corrupt(`multi-disk archives are not supported (disk ${disk})`)
    return { entryCount, directoryOffset }
  }
  // A ZIP whose end was cut off (an interrupted copy or upload) is damaged, not "not a ZIP".
  if (source.size >= 4 && (await source.read(0, 4)).readUInt32LE(0) === LOCAL_SIGNATURE) {
    throw new AirstripError('archive-corrupt', 'the archive is truncated: its central directory is missing')
  }
  throw new AirstripError('not-a-zip')
}

/** Unsigned 64-bit little-endian; values past 2^53 only occur in damaged archives and fail bounds checks later. */
function uint64(bytes: Uint8Array, at: number): number {
  return u32(bytes, at + 4) * 0x1_0000_0000 + u32(bytes, at)
}

/**
 * Walks all `entryCount` records: every name is decoded and validated (one unsafe name anywhere
 * refuses the archive), `keep` sees every name, and only kept entries are stored (first one wins).
 * The directory comes in through one reused window; records are parsed synchronously in between
 * reads (an await per record costs more than the parsing itself).
 */
async function scanDirectory(source: RandomAccessSource, end: DirectoryEnd, keep: (name: string) => boolean): Promise<Map<string, StoredEntry>> {
  const scan: DirectoryScan = {
    window: Buffer.allocUnsafe(Math.min(DIRECTORY_WINDOW, Math.max(CENTRAL_BYTES, source.size - end.directoryOffset))),
    at: 0,
    filled: 0,
    index: 0,
    count: end.entryCount,
    keep,
    entries: new Map(),
  }
  let windowStart = end.directoryOffset // file offset of window[0]
  while (scan.index < scan.count) {
    // Slide the unparsed tail (an incomplete record) to the front and fill the rest.
    const { window } = scan
    window.copyWithin(0, scan.at, scan.filled)
    windowStart += scan.at
    scan.filled -= scan.at
    scan.at = 0
    const room = Math.min(window.length - scan.filled, source.size - (windowStart + scan.filled))
    const read = room > 0 ? await source.readInto(window.subarray(scan.filled, scan.filled + room), windowStart + scan.filled) : 0
    if (read <= 0) throw corrupt(`the central directory is cut off at byte ${windowStart + scan.filled} (entry ${scan.index} of ${scan.count})`)
    scan.filled += read
    parseRecords(scan)
  }
  return scan.entries
}

interface DirectoryScan {
  window: Buffer
  /** Next unparsed byte, and end of the valid bytes, in the window. */
  at: number
  filled: number
  /** Records parsed so far, of `count`. */
  index: number
  count: number
  keep: (name: string) => boolean
  entries: Map<string, StoredEntry>
}

/** Parses the complete records in the window, stopping at the first incomplete one. */
function parseRecords(scan: DirectoryScan): void {
  const { window: w, filled, count, keep, entries } = scan
  let { at, index } = scan
  // Plain byte arithmetic rather than Buffer#readUInt*: this loop runs once per entry, mostly cold.
  while (index < count && at + CENTRAL_BYTES <= filled) {
    const signature = u32(w, at)
    if (signature !== CENTRAL_SIGNATURE) throw corrupt(`invalid central directory file header signature 0x${signature.toString(16)} (entry ${index})`)
    const nameLength = u16(w, at + 28)
    const extraLength = u16(w, at + 30)
    const recordLength = CENTRAL_BYTES + nameLength + extraLength + u16(w, at + 32)
    if (at + recordLength > filled) break
    const flags = u16(w, at + 8)
    if (flags & FLAG_STRONG_ENCRYPTION) throw corrupt('strong encryption is not supported')
    const nameStart = at + CENTRAL_BYTES
    const extraStart = nameStart + nameLength
    const extraEnd = extraStart + extraLength
    let compressedSize = u32(w, at + 20)
    let uncompressedSize = u32(w, at + 24)
    let localHeaderOffset = u32(w, at + 42)

    let unicodePath = false
    for (let extra = extraStart; extra + 4 <= extraEnd; ) {
      const id = u16(w, extra)
      const dataEnd = extra + 4 + u16(w, extra + 2)
      if (dataEnd > extraEnd) throw corrupt('an extra field overflows its entry')
      if (id === EXTRA_UNICODE_PATH) unicodePath = true
      if (id === EXTRA_ZIP64) {
        // ZIP64 sizes and offset appear, in this order, only for the fields that are 0xFFFFFFFF.
        let field = extra + 4
        const wanted = (uncompressedSize === 0xffffffff ? 1 : 0) + (compressedSize === 0xffffffff ? 1 : 0) + (localHeaderOffset === 0xffffffff ? 1 : 0)
        if (field + 8 * wanted > dataEnd) throw corrupt('the ZIP64 extra field lacks a size or offset its entry defers to it')
        if (uncompressedSize === 0xffffffff) (uncompressedSize = uint64(w, field)), (field += 8)
        if (compressedSize === 0xffffffff) (compressedSize = uint64(w, field)), (field += 8)
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = uint64(w, field)
      }
      extra = dataEnd
    }

    const name = entryName(w, nameStart, nameLength, flags, unicodePath, extraStart, extraLength)
    const method = u16(w, at + 10)
    if (method === METHOD_STORED && compressedSize !== uncompressedSize + (flags & FLAG_ENCRYPTED ? 12 : 0)) {
      throw corrupt(`compressed/uncompressed size mismatch for stored file ${name}: ${compressedSize} != ${uncompressedSize}`)
    }
    if (keep(name) && !entries.has(name)) {
      entries.set(name, { name, nameLength, compressedSize, uncompressedSize, crc32: u32(w, at + 16), method, flags, localHeaderOffset })
    }
    at += recordLength
    index++
  }
  scan.at = at
  scan.index = index
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8)
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x100_0000
}

let yauzlHelpers: { getFileNameLowLevel(flags: number, name: Buffer, extraFields: unknown[], strict: boolean): string; parseExtraFields(extra: Buffer): unknown[] } | null = null

/**
 * The entry's name as yauzl (strictFileNames: false) decodes it, refused when it is absolute or
 * climbs out with "..". UTF-8-flagged and printable-ASCII names (nearly all) are decoded in place;
 * CP437 and Info-ZIP Unicode Path names go through yauzl's own decoder, loaded only then.
 */
function entryName(window: Buffer, start: number, length: number, flags: number, unicodePath: boolean, extraStart: number, extraLength: number): string {
  let name = unicodePath ? '' : window.toString(flags & FLAG_UTF8 ? 'utf8' : 'latin1', start, start + length)
  if (!unicodePath && (flags & FLAG_UTF8 || !NOT_PRINTABLE_ASCII.test(name))) {
    if (name.includes('\\')) name = name.replaceAll('\\', '/')
  } else {
    yauzlHelpers ??= createRequire(import.meta.url)('yauzl') as NonNullable<typeof yauzlHelpers>
    const extraFields = yauzlHelpers.parseExtraFields(window.subarray(extraStart, extraStart + extraLength))
    name = yauzlHelpers.getFileNameLowLevel(flags, Buffer.from(window.subarray(start, start + length)), extraFields, false)
  }
  const first = name.charCodeAt(0)
  const isLetter = (first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a)
  if (first === 0x2f || (isLetter && name.charCodeAt(1) === 0x3a)) throw unsafeName(name)
  if (name.includes('..') && name.split('/').includes('..')) throw unsafeName(name)
  return name
}

/** CP437 and ASCII agree on 0x20-0x7E only. */
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/

function unsafeName(name: string): AirstripError {
  return new AirstripError('unsafe-entry-name', `unsafe entry name: ${name}`)
}

/**
 * Checks an entry's local header and finds its data. With `withData`, the header and the data
 * come in one read unless the local extra field is longer than usual: one request instead of two
 * (for a remote source, one HTTP round trip per entry).
 */
async function locate(source: RandomAccessSource, entry: StoredEntry, withData: boolean): Promise<{ start: number; end: number; data: Buffer | null }> {
  if (entry.flags & FLAG_ENCRYPTED) throw new AirstripError('archive-corrupt', `${entry.name} is encrypted`)
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) throw corrupt(`unsupported compression method ${entry.method} for ${entry.name}`)
  if (entry.localHeaderOffset + LOCAL_BYTES > source.size) throw corrupt(`the local header of ${entry.name} lies past the end of the file`)
  const wanted = LOCAL_BYTES + entry.nameLength + LOCAL_EXTRA_GUESS + (withData ? entry.compressedSize : 0)
  const head = await source.read(entry.localHeaderOffset, Math.min(wanted, source.size - entry.localHeaderOffset))
  if (head.readUInt32LE(0) !== LOCAL_SIGNATURE) throw corrupt(`invalid local file header signature for ${entry.name}`)
  const dataOffset = LOCAL_BYTES + head.readUInt16LE(26) + head.readUInt16LE(28)
  const start = entry.localHeaderOffset + dataOffset
  const end = start + entry.compressedSize
  if (end > source.size) throw corrupt(`the data of ${entry.name} overflows the file (${start} + ${entry.compressedSize} > ${source.size})`)
  const data = withData && dataOffset + entry.compressedSize <= head.length ? head.subarray(dataOffset, dataOffset + entry.compressedSize) : null
  return { start, end, data }
}

async function readEntry(source: RandomAccessSource, entry: StoredEntry, cap: number): Promise<Buffer> {
  if (entry.uncompressedSize > cap) {
    throw new AirstripError('entry-too-large', `${entry.name} is ${entry.uncompressedSize} bytes; at most ${cap} are read`)
  }
  // The compressed bytes are read in one go, so they are capped too (with room for deflate's
  // few bytes of overhead on incompressible content).
  if (entry.compressedSize > cap + cap / 64) {
    throw new AirstripError('entry-too-large', `${entry.name} is ${entry.compressedSize} bytes compressed; at most ${cap} are read`)
  }
  const { start, end, data: inline } = await locate(source, entry, true)
  const raw = inline ?? (await source.read(start, end - start))
  let data = raw
  if (entry.method === METHOD_DEFLATED) {
    // One more byte than declared: an entry that inflates past its declared size is caught.
    const options = { maxOutputLength: entry.uncompressedSize + 1 }
    try {
      // Small entries (plists, icons) inflate in well under a millisecond: not worth a trip to the thread pool.
      data = raw.length <= SYNC_INFLATE_BYTES ? inflateRawSync(raw, options) : await inflateRawAsync(raw, options)
    } catch (error) {
      throw corrupt(`${entry.name} does not inflate: ${(error as Error).message}`, error)
    }
  }
  if (data.length !== entry.uncompressedSize) {
    throw corrupt(`${entry.name} holds ${data.length > entry.uncompressedSize ? 'more' : 'fewer'} bytes than the ${entry.uncompressedSize} it declares`)
  }
  if (crc32(data) !== entry.crc32) throw new AirstripError('archive-corrupt', `CRC-32 mismatch in ${entry.name}`)
  return data
}

/**
 * Streams an entry with bounded memory. Deflated data is read into two reused buffers, so the
 * compressed side allocates nothing per chunk; the inflated chunks are the caller's to keep.
 */
async function* streamEntry(source: RandomAccessSource, entry: StoredEntry): AsyncGenerator<Buffer> {
  const { start, end } = await locate(source, entry, false)
  if (entry.method === METHOD_STORED) {
    for (let position = start; position < end; position += STORED_CHUNK) yield await source.read(position, Math.min(STORED_CHUNK, end - position))
    return
  }
  // Sized to the entry: a small executable does not get megabyte buffers.
  const inflater = createInflateRaw({ chunkSize: Math.max(16 * 1024, Math.min(INFLATE_CHUNK, entry.uncompressedSize)) })
  const inputChunk = Math.max(1, Math.min(INPUT_CHUNK, end - start))
  let stopped = false
  const write = (chunk: Buffer): Promise<void> => new Promise((resolve, reject) => void inflater.write(chunk, (error) => (error ? reject(error) : resolve())))
  // Reads the next chunk while zlib works on the previous one; a buffer is refilled only once
  // zlib has consumed it (its write callback).
  const feed = async (): Promise<void> => {
    const buffers = [Buffer.allocUnsafe(inputChunk), Buffer.allocUnsafe(inputChunk)]
    let written: Promise<void> = Promise.resolve()
    for (let position = start, turn = 0; position < end && !stopped; turn ^= 1) {
      const buffer = buffers[turn]!.subarray(0, Math.min(inputChunk, end - position))
      const read = await source.readInto(buffer, position)
      if (read <= 0) throw corrupt(`${entry.name} is cut off at byte ${position}`)
      position += read
      await written
      written = write(buffer.subarray(0, read))
      // Observed by the next await; marked handled now in case a failed read ends the loop first.
      written.catch(() => {})
    }
    await written
    if (!stopped) inflater.end()
  }
  feed().catch((error: unknown) => inflater.destroy(error as Error))
  let total = 0
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      total += chunk.length
      if (total > entry.uncompressedSize) throw corrupt(`${entry.name} inflates past the ${entry.uncompressedSize} bytes it declares`)
      yield chunk
    }
  } catch (error) {
    if (error instanceof AirstripError) throw error
    throw corrupt(`${entry.name} does not inflate: ${(error as Error).message}`, error)
  } finally {
    stopped = true
    inflater.destroy()
  }
  if (total !== entry.uncompressedSize) throw corrupt(`${entry.name} holds ${total} bytes, not the ${entry.uncompressedSize} it declares`)
}
