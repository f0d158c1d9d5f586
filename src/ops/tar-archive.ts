import type { FileHandle } from 'node:fs/promises'

/**
 * The tar format (POSIX ustar with pax extended headers for long names and files over 8 GiB),
 * written and read here by hand because no tar package is among Airstrip's dependencies and the
 * subset backups need is small: regular files only. Reading treats the archive as hostile: header
 * checksums, sizes and names are checked, and anything but a regular file is refused.
 */

const BLOCK = 512
const MAX_USTAR_SIZE = 0o77777777777
/** Pax headers are tiny; a bigger one is not from Airstrip. */
const MAX_PAX_BYTES = 64 * 1024

/** Writes tar entries one after another through a file handle (the caller owns and closes it). */
export class TarWriter {
  #handle: FileHandle
  #bytes = 0

  constructor(handle: FileHandle) {
    this.#handle = handle
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes
  }

  /** Starts a regular-file entry; write exactly `size` bytes with `writeData`, then call `endEntry`. */
  async beginEntry(name: string, size: number, mode: number, mtime: Date): Promise<void> {
    const needsPax = Buffer.byteLength(name) > 100 || !/^[\x20-\x7e]*$/.test(name) || size > MAX_USTAR_SIZE
    if (needsPax) {
      const records = paxRecord('path', name) + (size > MAX_USTAR_SIZE ? paxRecord('size', String(size)) : '')
      const body = Buffer.from(records, 'utf8')
      await this.#write(header('PaxHeader', body.length, 0o644, mtime, 'x'))
      await this.#write(body)
      await this.#pad(body.length)
    }
    await this.#write(header(needsPax ? name.slice(-100).replace(/[^\x20-\x7e]/g, '_') : name, Math.min(size, MAX_USTAR_SIZE), mode, mtime, '0'))
  }

  async writeData(chunk: Uint8Array): Promise<void> {
    await this.#write(chunk)
  }

  async endEntry(size: number): Promise<void> {
    await this.#pad(size)
  }

  async addBuffer(name: string, data: Uint8Array, mode: number, mtime: Date): Promise<void> {
    await this.beginEntry(name, data.length, mode, mtime)
    await this.writeData(data)
    await this.endEntry(data.length)
  }

  /** The two zero blocks that end an archive. */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(2 * BLOCK))
  }

  async #pad(size: number): Promise<void> {
    const rest = size % BLOCK
    if (rest !== 0) await this.#write(Buffer.alloc(BLOCK - rest))
  }

  async #write(data: Uint8Array): Promise<void> {
    let offset = 0
    while (offset < data.length) {
      const { bytesWritten } = await this.#handle.write(data, offset, data.length - offset)
      offset += bytesWritten
    }
    this.#bytes += data.length
  }
}

/** A regular file in an archive: where its bytes start and how many there are. */
export interface TarEntry {
  name: string
  mode: number
  size: number
  dataOffset: number
}

/** Lists the regular files of an archive read through `handle`; throws on anything malformed. */
export async function* readTarEntries(handle: FileHandle, archiveSize: number): AsyncGenerator<TarEntry> {
  let offset = 0
  let pax: Map<string, string> | null = null
  const block = Buffer.alloc(BLOCK)
  while (true) {
    if (offset + BLOCK > archiveSize) throw new TarError('the archive ends before its end-of-archive marker (truncated?)')
    await readExactly(handle, block, offset)
    offset += BLOCK
    if (block.every((byte) => byte === 0)) return
    if (!checksumMatches(block)) throw new TarError(`bad header checksum at byte ${offset - BLOCK}`)
    const type = String.fromCharCode(block[156] ?? 0)
    const headerSize = parseOctal(block.subarray(124, 136))
    const dataOffset = offset
    offset += Math.ceil(headerSize / BLOCK) * BLOCK
    if (offset > archiveSize) throw new TarError('an entry runs past the end of the archive (truncated?)')
    if (type === 'x') {
      if (headerSize > MAX_PAX_BYTES) throw new TarError('oversized pax header')
      const body = Buffer.alloc(headerSize)
      await readExactly(handle, body, dataOffset)
      pax = parsePax(body.toString('utf8'))
      continue
    }
    if (type === '5') {
      pax = null
      continue
    }
    if (type !== '0' && type !== '\0') throw new TarError(`entry type "${type}" is not a regular file (links and devices are refused)`)
    const prefix = cString(block.subarray(345, 500))
    const name = pax?.get('path') ?? (prefix ? `${prefix}/${cString(block.subarray(0, 100))}` : cString(block.subarray(0, 100)))
    const size = pax?.has('size') ? Number(pax.get('size')) : headerSize
    if (!Number.isSafeInteger(size) || size < 0) throw new TarError(`bad size for ${name}`)
    if (pax?.has('size')) offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK
    if (offset > archiveSize) throw new TarError(`${name} runs past the end of the archive (truncated?)`)
    pax = null
    yield { name, mode: parseOctal(block.subarray(100, 108)) & 0o777, size, dataOffset }
  }
}

export class TarError extends Error {
  override name = 'TarError'
}

function header(name: string, size: number, mode: number, mtime: Date, type: string): Buffer {
  const block = Buffer.alloc(BLOCK)
  block.write(name, 0, 100, 'utf8')
  writeOctal(block, 100, 8, mode & 0o7777)
  writeOctal(block, 108, 8, 0)
  writeOctal(block, 116, 8, 0)
  writeOctal(block, 124, 12, size)
  writeOctal(block, 136, 12, Math.max(0, Math.floor(mtime.getTime() / 1000)))
  block.write(type, 156, 1, 'ascii')
  block.write('ustar\0', 257, 6, 'ascii')
  block.write('00', 263, 2, 'ascii')
  block.fill(0x20, 148, 156)
  const sum = block.reduce((total, byte) => total + byte, 0)
  writeOctal(block, 148, 7, sum)
  block[155] = 0x20
  return block
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii')
  block[offset + length - 1] = 0
}

function parseOctal(field: Buffer): number {
  const text = cString(field).trim()
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw new TarError(`bad number field "${text}"`)
  return parseInt(text, 8)
}

function checksumMatches(block: Buffer): boolean {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0)
  return parseOctal(block.subarray(148, 156)) === sum
}

function cString(field: Buffer): string {
  const end = field.indexOf(0)
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8')
}

/** "<length> <key>=<value>\n", where length counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let length = Buffer.byteLength(body) + 1
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body)
  return `${length}${body}`
}

function parsePax(text: string): Map<string, string> {
  const values = new Map<string, string>()
  let rest = text
  while (rest.length > 0) {
    const match = /^(\d+) ([^=]+)=/.exec(rest)
    if (!match) throw new TarError('malformed pax header')
    const length = Number(match[1])
    const record = Buffer.from(rest, 'utf8').subarray(0, length).toString('utf8')
    if (!record.endsWith('\n')) throw new TarError('malformed pax record')
    values.set(match[2]!, record.slice(match[0].length, -1))
    rest = Buffer.from(rest, 'utf8').subarray(length).toString('utf8')
  }
  return values
}

async function readExactly(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let read = 0
  while (read < buffer.length) {
    const { bytesRead } = await handle.read(buffer, read, buffer.length - read, position + read)
    if (bytesRead === 0) throw new TarError('unexpected end of the archive')
    read += bytesRead
  }
}
