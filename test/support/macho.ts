/**
 * Synthetic Mach-O executables for tests: thin (32/64-bit, either byte order) and fat images laid
 * out like linker output (header, load commands, code, LC_CODE_SIGNATURE pointing at a SuperBlob
 * at the end), described as parts so that megabytes of padding can be streamed without being held.
 * Plus a throw-away signing identity made with the real `openssl` CLI.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'

export const CPU_TYPE_ARM64 = 0x0100000c
export const CPU_TYPE_ARM = 0x0000000c
export const CPU_TYPE_X86_64 = 0x01000007

/** A run of bytes, or of zeros that are only materialised chunk by chunk when streamed. */
export type Part = Buffer | { zeros: number }

export interface SyntheticBinary {
  parts: Part[]
  size: number
  /** Offsets (from the image start) of the structures tests patch to make malformed binaries. */
  layout: {
    /** The LC_CODE_SIGNATURE command (cmd, cmdsize, dataoff, datasize); null when unsigned. */
    codeSignatureCommand: number | null
    /** The SuperBlob (dataoff). */
    superBlob: number | null
    /** The CMS slot's {type, offset} entry in the SuperBlob index. */
    cmsIndexEntry: number | null
    /** The BlobWrapper holding the CMS. */
    cmsBlob: number | null
  }
}

export interface MachOOptions {
  bits: 32 | 64
  cpuType: number
  /** Omitted: unsigned, no LC_CODE_SIGNATURE. null: ad-hoc, empty CMS slot. Bytes: the CMS DER. */
  signatureCms?: Buffer | null
  /** Zeros between the code and the signature, standing for the bulk of a real executable. */
  paddingBytes?: number
  /** LC_LOAD_DYLIB commands added before LC_CODE_SIGNATURE. */
  extraLoadCommands?: number
  /** Write header and load commands big-endian (MH_CIGAM as read on a little-endian host). */
  bigEndian?: boolean
}

/**
 * The CodeDirectory stand-in every synthetic signature carries: sign exactly these bytes, as
 * codesign signs the real CodeDirectory (detached CMS).
 */
export const CODE_DIRECTORY = superBlobEntry(0xfade0c02, Buffer.from('version 0x20400, hashes of every page would follow'.padEnd(96, '.')))

/** Builds a thin Mach-O image. */
export function buildMachO(options: MachOOptions): SyntheticBinary {
  const is64 = options.bits === 64
  const signed = options.signatureCms !== undefined
  const u32 = (value: number): Buffer => {
    const b = Buffer.alloc(4)
    if (options.bigEndian) b.writeUInt32BE(value >>> 0)
    else b.writeUInt32LE(value >>> 0)
    return b
  }
  const headerSize = is64 ? 32 : 28
  const code = Buffer.alloc(256)
  for (let at = 0; at < code.length; at += 4) code.writeUInt32LE(0xd503201f, at) // arm64 NOP
  const superBlob = signed ? buildSuperBlob(options.signatureCms ?? null) : null
  // Segment commands need the final layout, so compute sizes first: all commands have fixed sizes.
  const extra = options.extraLoadCommands ?? 0
  const dylibName = Buffer.from('/usr/lib/libSystem.B.dylib\0'.padEnd(32, '\0'))
  const segmentSize = is64 ? 72 : 56
  const sizeofcmds = 2 * segmentSize + 24 + extra * (24 + dylibName.length) + (signed ? 16 : 0)
  const textEnd = headerSize + sizeofcmds + code.length + (options.paddingBytes ?? 0)
  const signatureOffset = align(textEnd, 16)
  const datasize = superBlob ? align(superBlob.blob.length, 16) + 64 : 0
  const size = signatureOffset + datasize

  const segment = (name: string, fileoff: number, filesize: number): Buffer => {
    const segname = Buffer.alloc(16)
    segname.write(name)
    const wide = (v: number): Buffer => (is64 ? (options.bigEndian ? Buffer.concat([u32(0), u32(v)]) : Buffer.concat([u32(v), u32(0)])) : u32(v))
    return Buffer.concat([u32(is64 ? 0x19 : 0x1), u32(segmentSize), segname, wide(fileoff), wide(filesize), wide(fileoff), wide(filesize), u32(5), u32(5), u32(0), u32(0)])
  }
  const commands: Buffer[] = [
    segment('__TEXT', 0, textEnd),
    segment('__LINKEDIT', signatureOffset, datasize),
    Buffer.concat([u32(0x1b), u32(24), Buffer.from('0123456789abcdef')]), // LC_UUID
  ]
  for (let i = 0; i < extra; i++) {
    commands.push(Buffer.concat([u32(0xc), u32(24 + dylibName.length), u32(24), u32(2), u32(0x10000), u32(0x10000), dylibName]))
  }
  const codeSignatureCommand = headerSize + commands.reduce((sum, c) => sum + c.length, 0)
  if (signed) commands.push(Buffer.concat([u32(0x1d), u32(16), u32(signatureOffset), u32(datasize)]))

  const header = Buffer.concat([
    u32(is64 ? 0xfeedfacf : 0xfeedface),
    u32(options.cpuType),
    u32(0), // cpusubtype
    u32(2), // MH_EXECUTE
    u32(commands.length),
    u32(sizeofcmds),
    u32(0x00200085), // MH_NOUNDEFS | MH_DYLDLINK | MH_TWOLEVEL | MH_PIE
    ...(is64 ? [u32(0)] : []),
  ])
  const parts: Part[] = [header, ...commands, code]
  const gap = signatureOffset - headerSize - sizeofcmds - code.length
  if (gap > 0) parts.push({ zeros: gap })
  if (superBlob) parts.push(superBlob.blob, Buffer.alloc(datasize - superBlob.blob.length))
  return {
    parts,
    size,
    layout: {
      codeSignatureCommand: signed ? codeSignatureCommand : null,
      superBlob: signed ? signatureOffset : null,
      cmsIndexEntry: superBlob ? signatureOffset + superBlob.cmsIndexEntry : null,
      cmsBlob: superBlob ? signatureOffset + superBlob.cmsBlob : null,
    },
  }
}

/** The embedded-signature SuperBlob: CodeDirectory, empty Requirements, CMS BlobWrapper. */
function buildSuperBlob(cms: Buffer | null): { blob: Buffer; cmsIndexEntry: number; cmsBlob: number } {
  const blobs: Array<[number, Buffer]> = [
    [0, CODE_DIRECTORY],
    [2, superBlobEntry(0xfade0c01, Buffer.alloc(4))], // Requirements with count 0
    [0x10000, superBlobEntry(0xfade0b01, cms ?? Buffer.alloc(0))],
  ]
  const head = Buffer.alloc(12 + blobs.length * 8)
  let offset = head.length
  blobs.forEach(([type, blob], i) => {
    head.writeUInt32BE(type, 12 + i * 8)
    head.writeUInt32BE(offset, 16 + i * 8)
    offset += blob.length
  })
  head.writeUInt32BE(0xfade0cc0, 0)
  head.writeUInt32BE(offset, 4)
  head.writeUInt32BE(blobs.length, 8)
  const cmsBlob = head.readUInt32BE(16 + 2 * 8)
  return { blob: Buffer.concat([head, ...blobs.map(([, blob]) => blob)]), cmsIndexEntry: 12 + 2 * 8, cmsBlob }
}

function superBlobEntry(magic: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(magic, 0)
  head.writeUInt32BE(8 + payload.length, 4)
  return Buffer.concat([head, payload])
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to
}

/** A fat (universal) binary of the given slices, each aligned to 16 KiB as lipo does for arm. */
export function buildFat(slices: Array<{ cpuType: number; binary: SyntheticBinary }>, options: { fat64?: boolean } = {}): SyntheticBinary {
  const entrySize = options.fat64 ? 32 : 20
  const header = Buffer.alloc(8 + slices.length * entrySize)
  header.writeUInt32BE(options.fat64 ? 0xcafebabf : 0xcafebabe, 0)
  header.writeUInt32BE(slices.length, 4)
  const parts: Part[] = [header]
  let offset = header.length
  slices.forEach(({ cpuType, binary }, i) => {
    const start = align(offset, 1 << 14)
    parts.push({ zeros: start - offset }, ...binary.parts)
    const at = 8 + i * entrySize
    header.writeUInt32BE(cpuType, at)
    if (options.fat64) {
      header.writeBigUInt64BE(BigInt(start), at + 8)
      header.writeBigUInt64BE(BigInt(binary.size), at + 16)
      header.writeUInt32BE(14, at + 24)
    } else {
      header.writeUInt32BE(start, at + 8)
      header.writeUInt32BE(binary.size, at + 12)
      header.writeUInt32BE(14, at + 16)
    }
    offset = start + binary.size
  })
  return { parts, size: offset, layout: { codeSignatureCommand: null, superBlob: null, cmsIndexEntry: null, cmsBlob: null } }
}

/** Materialises a binary (only for small ones: padding is allocated). */
export function toBuffer(binary: SyntheticBinary): Buffer {
  return Buffer.concat(binary.parts.map((part) => (Buffer.isBuffer(part) ? part : Buffer.alloc(part.zeros))))
}

/**
 * Streams a binary in chunks, allocating each chunk afresh (as inflation would) so that memory
 * tests are honest. `progress.pulled` counts the bytes the consumer actually pulled; `onChunk`
 * runs before each chunk is handed over.
 */
export function toStream(
  binary: SyntheticBinary | Buffer,
  options: { chunkSize?: number; onChunk?: (pulled: number) => void } = {},
): { stream: Readable; progress: { pulled: number } } {
  const chunkSize = options.chunkSize ?? 64 * 1024
  const progress = { pulled: 0 }
  const parts = Buffer.isBuffer(binary) ? [binary] : binary.parts
  function* chunks(): Generator<Buffer> {
    for (const part of parts) {
      const length = Buffer.isBuffer(part) ? part.length : part.zeros
      for (let at = 0; at < length; at += chunkSize) {
        const end = Math.min(length, at + chunkSize)
        const chunk = Buffer.isBuffer(part) ? Buffer.from(part.subarray(at, end)) : Buffer.alloc(end - at)
        progress.pulled += chunk.length
        options.onChunk?.(progress.pulled)
        yield chunk
      }
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false, highWaterMark: chunkSize }), progress }
}

/** What `openssl x509` says of the test certificate, in CertificateSummary terms. */
export interface ExpectedCertificate {
  subject: string
  teamId: string
  notAfter: string
  sha1: string
}

export interface TestSigner {
  /** Detached DER CMS over `content`, as codesign makes over the CodeDirectory. */
  sign(content: Buffer): Buffer
  expected: ExpectedCertificate
  dispose(): void
}

/** Makes a throw-away self-signed "Apple Development" identity with the openssl CLI. */
export function createTestSigner(): TestSigner {
  const dir = mkdtempSync(join(tmpdir(), 'airstrip-macho-'))
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '365',
    '-subj', '/CN=Apple Development: Test (ABCDE12345)/OU=ABCDE12345/O=Test/C=US')
  const text = openssl('x509', '-in', cert, '-noout', '-subject', '-nameopt', 'multiline,utf8', '-enddate', '-dateopt', 'iso_8601',
    '-fingerprint', '-sha1')
  const field = (pattern: RegExp): string => {
    const match = pattern.exec(text)
    if (!match?.[1]) throw new Error(`openssl output lacks ${pattern}: ${text}`)
    return match[1].trim()
  }
  const expected: ExpectedCertificate = {
    subject: field(/commonName\s*=\s*(.+)/),
    teamId: field(/organizationalUnitName\s*=\s*(.+)/),
    notAfter: new Date(field(/notAfter=(.+)/).replace(' ', 'T')).toISOString(),
    sha1: field(/SHA1 Fingerprint=(.+)/i).replaceAll(':', '').toUpperCase(),
  }
  let counter = 0
  return {
    expected,
    sign(content: Buffer): Buffer {
      const input = join(dir, `content-${counter}`)
      const output = join(dir, `cms-${counter++}.der`)
      writeFileSync(input, content)
      openssl('cms', '-sign', '-binary', '-outform', 'DER', '-in', input, '-signer', cert, '-inkey', key, '-out', output)
      return readFileSync(output)
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  }
}
