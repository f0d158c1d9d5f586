/**
 * App icons: Apple's CgBI "crushed" PNGs → standard PNGs a browser can show.
 *
 * Xcode (pngcrush -iphone) rewrites bundle PNGs: a `CgBI` chunk before IHDR, IDAT as raw deflate
 * (no zlib header), pixels in BGRA order with premultiplied alpha. No maintained npm package reads
 * that (pngjs expects zlib streams and RGBA; `cgbi-to-png` is unmaintained and keeps premultiplied
 * colour), so the container walk, capped inflate and scanline un-filtering are written here by hand;
 * pngjs only re-encodes the result and validates ordinary PNGs.
 */
import { inflateRawSync, inflateSync } from 'node:zlib'
import pngjs from 'pngjs'
import { AirstripError } from '../errors.ts'
import { LIMITS } from './limits.ts'

const { PNG } = pngjs

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
/** PNG caps chunk lengths and dimensions at 2^31 - 1. */
const MAX_UINT31 = 0x7fffffff

interface Chunk { type: string; data: Uint8Array }
interface Header { width: number; height: number; bitDepth: number; colorType: number; interlace: number; isCgbi: boolean }

function invalid(message: string): never {
  throw new AirstripError('invalid-png', message)
}

function u32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0
}

/** Reads the chunk at `offset`, checking that it fits in the file. */
function chunkAt(bytes: Uint8Array, offset: number): Chunk & { next: number } {
  if (offset + 8 > bytes.length) invalid(`truncated PNG: chunk header at byte ${offset} is cut off`)
  const length = u32(bytes, offset)
  const type = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!)
  if (!/^[A-Za-z]{4}$/.test(type)) invalid(`bad PNG chunk type at byte ${offset}`)
  if (length > MAX_UINT31) invalid(`PNG chunk ${type} declares an impossible length ${length}`)
  const end = offset + 8 + length + 4 // data + CRC (CRCs are not checked: a bad one harms nothing here)
  if (end > bytes.length) invalid(`truncated PNG: chunk ${type} needs ${end} bytes, file has ${bytes.length}`)
  return { type, data: bytes.subarray(offset + 8, offset + 8 + length), next: end }
}

/** Signature, optional CgBI chunk, IHDR: everything needed to size an image without decoding it. */
function readHeader(bytes: Uint8Array): Header & { next: number } {
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) invalid('not a PNG: bad signature')
  let chunk = chunkAt(bytes, SIGNATURE.length)
  // Apple puts CgBI first, before IHDR; anywhere else it would not be Apple's format.
  const isCgbi = chunk.type === 'CgBI'
  if (isCgbi) chunk = chunkAt(bytes, chunk.next)
  if (chunk.type !== 'IHDR') invalid(`PNG does not start with IHDR (found ${chunk.type})`)
  if (chunk.data.length !== 13) invalid(`IHDR has length ${chunk.data.length}, expected 13`)
  const d = chunk.data
  const width = u32(d, 0)
  const height = u32(d, 4)
  if (width === 0 || height === 0 || width > MAX_UINT31 || height > MAX_UINT31) {
    invalid(`PNG has invalid dimensions ${width}x${height}`)
  }
  if (width * height > LIMITS.iconPixels) {
    throw new AirstripError('entry-too-large', `PNG is ${width}x${height}, above the ${LIMITS.iconPixels}-pixel limit for icons`)
  }
  if (d[10] !== 0 || d[11] !== 0) invalid(`PNG uses unknown compression (${d[10]}) or filter method (${d[11]})`)
  if (d[12]! > 1) invalid(`PNG uses unknown interlace method ${d[12]}`)
  return { width, height, bitDepth: d[8]!, colorType: d[9]!, interlace: d[12]!, isCgbi, next: chunk.next }
}

/** All chunks after IHDR up to IEND; a file without IEND is truncated. */
function readBody(bytes: Uint8Array, offset: number): Chunk[] {
  const chunks: Chunk[] = []
  for (;;) {
    const chunk = chunkAt(bytes, offset)
    if (chunk.type === 'IEND') return chunks
    chunks.push({ type: chunk.type, data: chunk.data })
    offset = chunk.next
  }
}

function concatIdat(chunks: Chunk[]): Buffer {
  const idat = chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)
  if (idat.length === 0) invalid('PNG has no IDAT chunk (no image data)')
  const joined = Buffer.concat(idat)
  if (joined.length === 0) invalid('PNG image data is empty')
  return joined
}

/**
 * Inflates at most `cap` bytes: zlib stops there, so a stream that would inflate further (a bomb)
 * never allocates more than the image can need.
 */
function inflateCapped(data: Buffer, cap: number, raw: boolean): Buffer {
  try {
    return raw ? inflateRawSync(data, { maxOutputLength: cap }) : inflateSync(data, { maxOutputLength: cap })
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      invalid(`PNG image data inflates to more than the ${cap} bytes its IHDR allows`)
    }
    throw new AirstripError('invalid-png', `PNG image data does not inflate: ${(error as Error).message}`, { cause: error })
  }
}

/** Reverses PNG scanline filters in place (4 bytes per pixel, filter byte first on each row). */
function unfilter(raw: Uint8Array, width: number, height: number): void {
  const stride = 1 + width * 4
  for (let y = 0; y < height; y++) {
    const row = y * stride
    const start = row + 1
    const end = row + stride
    const filter = raw[row]!
    switch (filter) {
      case 0:
        break
      case 1: // Sub
        for (let i = start + 4; i < end; i++) raw[i] = raw[i]! + raw[i - 4]!
        break
      case 2: // Up
        if (y > 0) for (let i = start; i < end; i++) raw[i] = raw[i]! + raw[i - stride]!
        break
      case 3: // Average
        for (let i = start; i < end; i++) {
          const left = i - 4 >= start ? raw[i - 4]! : 0
          const above = y > 0 ? raw[i - stride]! : 0
          raw[i] = raw[i]! + ((left + above) >> 1)
        }
        break
      case 4: // Paeth
        for (let i = start; i < end; i++) {
          const hasLeft = i - 4 >= start
          const a = hasLeft ? raw[i - 4]! : 0
          const b = y > 0 ? raw[i - stride]! : 0
          const c = hasLeft && y > 0 ? raw[i - stride - 4]! : 0
          const p = a + b - c
          const pa = Math.abs(p - a)
          const pb = Math.abs(p - b)
          const pc = Math.abs(p - c)
          raw[i] = raw[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
        }
        break
      default:
        invalid(`bad PNG filter type ${filter} on row ${y} (valid types are 0-4)`)
    }
  }
}

/**
 * Straight colour for premultiplied `c` at alpha `a`, indexed `a << 8 | c`: round(c × 255 / a),
 * computed as pngdefry does ((c × 255 + a / 2) / a, the same rounding), clamped to 255 because a
 * hostile file can store c > a, which pngdefry would let wrap around. Rows are filled for the
 * alpha values an image actually uses (icons use few), not all 65,536 entries up front.
 */
const unpremultiplyTable = new Uint8Array(256 * 256)
const unpremultiplyRowReady = new Uint8Array(256)

function unpremultiplyRow(a: number): number {
  const row = a << 8
  if (unpremultiplyRowReady[a] === 0) {
    for (let c = 0; c < 256; c++) unpremultiplyTable[row | c] = Math.min(255, Math.floor((c * 255 + (a >> 1)) / a))
    unpremultiplyRowReady[a] = 1
  }
  return row
}

/**
 * Premultiplied BGRA rows (Apple's in-memory layout, used by CgBI and Assets.car) → a standard
 * straight-alpha RGBA PNG. Row y starts at `first + y × stride`, so padded rows and CgBI's filter
 * bytes are skipped without copying.
 */
export function encodePremultipliedBgra(raw: Uint8Array, width: number, height: number, stride: number, first = 0): Buffer {
  if (stride < width * 4 || first + (height - 1) * stride + width * 4 > raw.length) {
    throw new RangeError('encodePremultipliedBgra: pixel buffer too small for its dimensions')
  }
  const table = unpremultiplyTable
  const out = Buffer.alloc(width * height * 4) // zero: fully transparent pixels stay 0,0,0,0
  let o = 0
  for (let y = 0; y < height; y++) {
    for (let i = first + y * stride, end = i + width * 4; i < end; i += 4, o += 4) {
      const a = raw[i + 3]!
      if (a === 0) continue
      const b = raw[i]!
      const g = raw[i + 1]!
      const r = raw[i + 2]!
      if (a === 255) {
        out[o] = r
        out[o + 1] = g
        out[o + 2] = b
      } else {
        const row = unpremultiplyRow(a)
        out[o] = table[row | r]!
        out[o + 1] = table[row | g]!
        out[o + 2] = table[row | b]!
      }
      out[o + 3] = a
    }
  }
  const png = new PNG()
  png.width = width
  png.height = height
  png.data = out
  return PNG.sync.write(png, { colorType: 6 })
}

function convertCgbi(header: Header, chunks: Chunk[]): Buffer {
  const { width, height, bitDepth, colorType, interlace } = header
  // Every CgBI file Xcode writes for icons is 8-bit RGBA, not interlaced (checked on all fixtures).
  if (bitDepth !== 8 || colorType !== 6) {
    invalid(`unsupported CgBI PNG: bit depth ${bitDepth}, colour type ${colorType} (only 8-bit RGBA, type 6, is read)`)
  }
  if (interlace !== 0) invalid('unsupported CgBI PNG: interlaced')
  const expected = height * (1 + width * 4)
  const raw = inflateCapped(concatIdat(chunks), expected, true)
  if (raw.length !== expected) invalid(`truncated PNG image data: ${raw.length} bytes, IHDR declares ${expected}`)
  unfilter(raw, width, height)
  return encodePremultipliedBgra(raw, width, height, 1 + width * 4, 1)
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }

/** Decodes an ordinary PNG with pngjs only to prove it is readable. */
function validateStandard(bytes: Buffer, header: Header, chunks: Chunk[]): void {
  const channels = CHANNELS[header.colorType]
  if (channels === undefined) invalid(`PNG has unknown colour type ${header.colorType}`)
  // pngjs inflates interlaced images without a cap and fails obscurely on bombs, so bound the data
  // first: Adam7 has at most 15h/8 + 7 rows over its passes, each a filter byte plus one of padding.
  const rowBytes = Math.ceil((header.width * channels * header.bitDepth) / 8)
  inflateCapped(concatIdat(chunks), header.height * rowBytes + 4 * header.height + 64, false)
  let decoded: { width: number; height: number }
  try {
    decoded = PNG.sync.read(bytes)
  } catch (error) {
    throw new AirstripError('invalid-png', `PNG does not decode: ${(error as Error).message}`, { cause: error })
  }
  if (decoded.width !== header.width || decoded.height !== header.height) invalid('PNG decodes to a different size than its IHDR')
}

/**
 * Width, height and CgBI-ness from the header alone (no inflate), so the biggest of several icon
 * candidates can be picked cheaply. Throws `invalid-png` for a malformed header and
 * `entry-too-large` past `LIMITS.iconPixels`, so a hostile candidate is skipped, not chosen.
 */
export function readPngSize(bytes: Uint8Array): { width: number; height: number; isCgbi: boolean } {
  const { width, height, isCgbi } = readHeader(bytes)
  return { width, height, isCgbi }
}

/**
 * Any PNG → a standard PNG: a normal one is decoded once to prove it readable and returned
 * byte-for-byte; a CgBI one is converted to straight-alpha RGBA and re-encoded.
 */
export function normalizePng(bytes: Uint8Array): { png: Buffer; width: number; height: number; wasCgbi: boolean } {
  if (bytes.length > LIMITS.iconBytes) {
    throw new AirstripError('entry-too-large', `PNG is ${bytes.length} bytes, above the ${LIMITS.iconBytes}-byte icon limit`)
  }
  const header = readHeader(bytes)
  const chunks = readBody(bytes, header.next)
  const { width, height } = header
  const original = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (!header.isCgbi) {
    validateStandard(original, header, chunks)
    return { png: original, width, height, wasCgbi: false }
  }
  return { png: convertCgbi(header, chunks), width, height, wasCgbi: true }
}
