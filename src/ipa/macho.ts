/**
 * Reads the certificate that signed an app's main executable out of its Mach-O code signature,
 * streaming: the executable is being inflated out of the .ipa and can be hundreds of MB, so only the
 * header, the load commands, the SuperBlob index and the CMS blob are ever held in memory, and the
 * source stream is destroyed as soon as the answer is known (inflation stops early).
 *
 * Malformed binaries never throw: a signature that cannot be located or read yields null, which the
 * caller reports as "unsigned". Errors of the source stream itself (zip CRC, truncated archive) do
 * propagate as rejections.
 */
import { summarizeCertificate } from './certificate.ts'
import { parseSignedData } from './cms.ts'
import { LIMITS } from './limits.ts'
import type { CertificateSummary } from './types.ts'

const MH_MAGIC = 0xfeedface
const MH_MAGIC_64 = 0xfeedfacf
const FAT_MAGIC = 0xcafebabe
const FAT_MAGIC_64 = 0xcafebabf
const CPU_TYPE_ARM64 = 0x0100000c
const LC_CODE_SIGNATURE = 0x1d
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0
const CSMAGIC_BLOBWRAPPER = 0xfade0b01
const CSSLOT_SIGNATURESLOT = 0x10000
/** Real fat files have a handful of slices; Java class files share FAT_MAGIC and read as 45+ here. */
const MAX_FAT_ARCHS = 32
/** Real signatures have about ten slots; this only bounds the index we buffer. */
const MAX_SUPERBLOB_SLOTS = 1024

/**
 * The executable's bytes as they inflate: a Readable, or any async iterable of byte chunks (the
 * archive's entry iterator). Ending the iteration early must stop the producer.
 */
export type ByteStream = AsyncIterable<unknown>

/** Pulls exact byte counts out of a stream; keeps at most one pending chunk besides what it returns. */
class ByteReader {
  /** Bytes consumed so far, i.e. the absolute offset in the file of the next byte. */
  position = 0
  readonly #iterator: AsyncIterator<unknown>
  #pending: Buffer = Buffer.alloc(0)
  #ended = false

  constructor(stream: ByteStream) {
    this.#iterator = stream[Symbol.asyncIterator]()
  }

  async #fill(): Promise<boolean> {
    while (!this.#ended && this.#pending.length === 0) {
      const next = await this.#iterator.next()
      if (next.done) this.#ended = true
      else this.#pending = toBuffer(next.value)
    }
    return this.#pending.length > 0
  }

  /** Exactly `length` bytes (a copy, so no large chunk stays referenced), or null at end of stream. */
  async read(length: number): Promise<Buffer | null> {
    const parts: Buffer[] = []
    let have = 0
    while (have < length) {
      if (!(await this.#fill())) return null
      const take = Math.min(length - have, this.#pending.length)
      parts.push(this.#pending.subarray(0, take))
      this.#pending = this.#pending.subarray(take)
      have += take
      this.position += take
    }
    return Buffer.concat(parts, length)
  }

  /** Discards bytes up to absolute offset `target`; false if it lies behind us or past the end. */
  async skipTo(target: number): Promise<boolean> {
    if (target < this.position) return false
    while (this.position < target) {
      if (!(await this.#fill())) return false
      const take = Math.min(target - this.position, this.#pending.length)
      this.#pending = this.#pending.subarray(take)
      this.position += take
    }
    return true
  }

  /** Ends the iteration, which destroys the source stream so upstream inflation stops. */
  async close(): Promise<void> {
    this.#pending = Buffer.alloc(0)
    await this.#iterator.return?.()
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1')
  throw new TypeError('the executable stream must yield bytes')
}

/**
 * Returns the DER bytes of the CMS signature embedded in a Mach-O executable (thin or fat; for fat
 * the arm64 slice, else the first), or null when the binary is unsigned, ad-hoc signed (empty CMS
 * slot) or malformed. Consumes the stream only as far as needed, then destroys it.
 */
export async function extractCodeSignatureCms(stream: ByteStream): Promise<Uint8Array | null> {
  const reader = new ByteReader(stream)
  try {
    const magic = await reader.read(4)
    if (!magic) return null
    return isFatMagic(magic) ? await readFat(reader, magic) : await readThin(reader, magic, 0, null)
  } finally {
    await reader.close()
  }
}

/**
 * Summarises the certificate that signed the code (the CMS signer), so the caller can show who
 * built the app and warn about expiry; null when there is no readable CMS signature.
 */
export async function readSigningCertificate(stream: ByteStream): Promise<CertificateSummary | null> {
  const cms = await extractCodeSignatureCms(stream)
  if (!cms) return null
  const envelope = parseSignedData(cms)
  return envelope?.signer ? summarizeCertificate(envelope.signer) : null
}

type ReadU32 = (buffer: Buffer, at: number) => number

function isFatMagic(magic: Buffer): boolean {
  const be = magic.readUInt32BE(0)
  const le = magic.readUInt32LE(0)
  return be === FAT_MAGIC || be === FAT_MAGIC_64 || le === FAT_MAGIC || le === FAT_MAGIC_64
}

/** Fat headers are big-endian on disk; the byte-swapped form is accepted for symmetry. */
async function readFat(reader: ByteReader, magic: Buffer): Promise<Uint8Array | null> {
  const little = magic.readUInt32LE(0) === FAT_MAGIC || magic.readUInt32LE(0) === FAT_MAGIC_64
  const u32: ReadU32 = little ? (b, at) => b.readUInt32LE(at) : (b, at) => b.readUInt32BE(at)
  const u64 = (b: Buffer, at: number): number => {
    const value = little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
  }
  const is64 = u32(magic, 0) === FAT_MAGIC_64
  const countBytes = await reader.read(4)
  if (!countBytes) return null
  const count = u32(countBytes, 0)
  if (count === 0 || count > MAX_FAT_ARCHS) return null
  const entrySize = is64 ? 32 : 20
  const table = await reader.read(count * entrySize)
  if (!table) return null

  let chosen: { offset: number; size: number } | null = null
  for (let i = 0; i < count; i++) {
    const at = i * entrySize
    // fat_arch: cputype, cpusubtype, offset, size, align; fat_arch_64 widens offset and size.
    const arch = { offset: is64 ? u64(table, at + 8) : u32(table, at + 8), size: is64 ? u64(table, at + 16) : u32(table, at + 12) }
    if (i === 0) chosen = arch
    if (u32(table, at) === CPU_TYPE_ARM64) {
      chosen = arch
      break
    }
  }
  if (!chosen || chosen.offset < 8 + count * entrySize || chosen.size < 28) return null
  if (!(await reader.skipTo(chosen.offset))) return null
  const sliceMagic = await reader.read(4)
  if (!sliceMagic || isFatMagic(sliceMagic)) return null
  return readThin(reader, sliceMagic, chosen.offset, chosen.size)
}

/**
 * Reads one Mach-O image starting at `start` (magic already consumed). `size` is the slice size
 * when known (fat), which lets offsets past the slice be refused before reading on.
 */
async function readThin(reader: ByteReader, magic: Buffer, start: number, size: number | null): Promise<Uint8Array | null> {
  const le = magic.readUInt32LE(0)
  const be = magic.readUInt32BE(0)
  let little: boolean
  if (le === MH_MAGIC || le === MH_MAGIC_64) little = true
  else if (be === MH_MAGIC || be === MH_MAGIC_64) little = false // MH_CIGAM: a big-endian image
  else return null
  const u32: ReadU32 = little ? (b, at) => b.readUInt32LE(at) : (b, at) => b.readUInt32BE(at)
  const headerSize = u32(magic, 0) === MH_MAGIC_64 ? 32 : 28

  // mach_header after the magic: cputype, cpusubtype, filetype, ncmds, sizeofcmds, flags[, reserved].
  const header = await reader.read(headerSize - 4)
  if (!header) return null
  const ncmds = u32(header, 12)
  const sizeofcmds = u32(header, 16)
  const commandsEnd = headerSize + sizeofcmds
  if (commandsEnd > LIMITS.machoLoadCommandBytes || (size !== null && commandsEnd > size)) return null
  const commands = await reader.read(sizeofcmds)
  if (!commands) return null

  const signature = findCodeSignature(commands, ncmds, u32)
  if (!signature) return null
  const { dataoff, datasize } = signature
  // The signature follows the load commands and must fit in the slice (or, thin, in the stream).
  if (dataoff < commandsEnd || datasize < 12 || (size !== null && dataoff + datasize > size)) return null
  if (!(await reader.skipTo(start + dataoff))) return null
  return readSuperBlob(reader, datasize)
}

/** Finds LC_CODE_SIGNATURE (a linkedit_data_command: cmd, cmdsize, dataoff, datasize). */
function findCodeSignature(commands: Buffer, ncmds: number, u32: ReadU32): { dataoff: number; datasize: number } | null {
  let at = 0
  for (let i = 0; i < ncmds && at + 8 <= commands.length; i++) {
    const cmd = u32(commands, at)
    const cmdsize = u32(commands, at + 4)
    if (cmdsize < 8 || at + cmdsize > commands.length) return null
    if (cmd === LC_CODE_SIGNATURE) return cmdsize < 16 ? null : { dataoff: u32(commands, at + 8), datasize: u32(commands, at + 12) }
    at += cmdsize
  }
  return null
}

/**
 * Reads the embedded-signature SuperBlob (always big-endian) at the reader's position and returns
 * the DER inside the BlobWrapper of the CMS slot; null for an empty wrapper (ad-hoc signature).
 */
async function readSuperBlob(reader: ByteReader, datasize: number): Promise<Uint8Array | null> {
  const base = reader.position
  const head = await reader.read(12)
  if (!head || head.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) return null
  const length = head.readUInt32BE(4)
  const count = head.readUInt32BE(8)
  const indexEnd = 12 + count * 8
  if (count > MAX_SUPERBLOB_SLOTS || length > datasize || indexEnd > length) return null
  const index = await reader.read(count * 8)
  if (!index) return null

  let offset: number | null = null
  for (let i = 0; i < count && offset === null; i++) {
    if (index.readUInt32BE(i * 8) === CSSLOT_SIGNATURESLOT) offset = index.readUInt32BE(i * 8 + 4)
  }
  if (offset === null || offset < indexEnd || offset + 8 > length) return null
  if (!(await reader.skipTo(base + offset))) return null

  const wrapper = await reader.read(8)
  if (!wrapper || wrapper.readUInt32BE(0) !== CSMAGIC_BLOBWRAPPER) return null
  const blobLength = wrapper.readUInt32BE(4)
  if (blobLength <= 8 || offset + blobLength > length || blobLength - 8 > LIMITS.codeSignatureBytes) return null
  return reader.read(blobLength - 8)
}
