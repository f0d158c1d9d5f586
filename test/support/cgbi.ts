/**
 * Builds Apple-style CgBI ("crushed") PNGs for tests, the way Xcode's `pngcrush -iphone` lays them
 * out (copied from test/fixtures/misc/pngdefry-40@2x.png): signature, CgBI chunk with the 4 data
 * bytes 50 00 20 06, IHDR (8-bit, colour type 6), IDAT holding raw deflate (no zlib header) of
 * filtered BGRA scanlines with premultiplied alpha, IEND. CRCs are correct.
 *
 * Premultiplication convention: c' = round(c × a / 255) (round half up). Apple does not document
 * pngcrush -iphone's rounding; this is the usual CoreGraphics-style rounded product, and it is the
 * exact inverse partner of pngdefry's un-premultiply c = (c' × 255 + a / 2) / a (also round half up).
 */
import { crc32, deflateRawSync, deflateSync, inflateRawSync } from 'node:zlib'

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
/** CgBI chunk data as Xcode writes it (flags seen in the pngdefry fixtures and modern .ipa icons). */
export const CGBI_DATA = Buffer.from([0x50, 0x00, 0x20, 0x06])

/** One PNG chunk: length, type, data, CRC over type + data. */
export function pngChunk(type: string, data: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))), 0)
  return Buffer.concat([head, data, crc])
}

/** IHDR chunk data (13 bytes). */
export function ihdrData(width: number, height: number, bitDepth = 8, colorType = 6, interlace = 0): Buffer {
  const d = Buffer.alloc(13)
  d.writeUInt32BE(width, 0)
  d.writeUInt32BE(height, 4)
  d[8] = bitDepth
  d[9] = colorType
  d[12] = interlace
  return d
}

/** Assembles a CgBI file from IHDR data and already-compressed IDAT payloads (one chunk each). */
export function cgbiFile(ihdr: Buffer, idat: Buffer[], options: { cgbi?: boolean } = {}): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    ...(options.cgbi === false ? [] : [pngChunk('CgBI', CGBI_DATA)]),
    pngChunk('IHDR', ihdr),
    ...idat.map((d) => pngChunk('IDAT', d)),
    pngChunk('IEND'),
  ])
}

/** Round-half-up premultiplication (see the file comment). */
export function premultiply(c: number, a: number): number {
  return Math.round((c * a) / 255)
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

/** Filters one scanline of 4-byte pixels with PNG filter `type`, given the previous raw line. */
export function filterRow(type: number, line: Uint8Array, prev: Uint8Array | null): Buffer {
  const out = Buffer.alloc(line.length + 1)
  out[0] = type
  for (let i = 0; i < line.length; i++) {
    const left = i >= 4 ? line[i - 4]! : 0
    const up = prev ? prev[i]! : 0
    const upLeft = prev && i >= 4 ? prev[i - 4]! : 0
    const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][type]!
    out[i + 1] = (line[i]! - predictor) & 0xff
  }
  return out
}

/** Premultiplied BGRA scanlines of straight RGBA pixels, filtered with row y using filter y % 5. */
export function crushScanlines(rgba: Buffer, width: number, height: number): Buffer {
  const rows: Buffer[] = []
  let prev: Uint8Array | null = null
  for (let y = 0; y < height; y++) {
    const line = new Uint8Array(width * 4)
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 4
      const a = rgba[s + 3]!
      line[x * 4] = premultiply(rgba[s + 2]!, a)
      line[x * 4 + 1] = premultiply(rgba[s + 1]!, a)
      line[x * 4 + 2] = premultiply(rgba[s]!, a)
      line[x * 4 + 3] = a
    }
    rows.push(filterRow(y % 5, line, prev))
    prev = line
  }
  return Buffer.concat(rows)
}

/**
 * An Apple-style CgBI PNG of straight RGBA pixels (pngjs layout). The deflate stream is split
 * across two IDAT chunks, as Xcode does for iDOT images, so readers must concatenate them.
 */
export function crushPng(rgba: Buffer, width: number, height: number): Buffer {
  if (rgba.length !== width * height * 4) throw new Error('crushPng: rgba length does not match width x height')
  const deflated = deflateRawSync(crushScanlines(rgba, width, height))
  const half = deflated.length >> 1
  return cgbiFile(ihdrData(width, height), [deflated.subarray(0, half), deflated.subarray(half)])
}

/**
 * A standard PNG holding a CgBI file's IDAT data re-wrapped in a zlib stream, so pngjs can decode
 * the (still BGRA, premultiplied) pixels: an independent reference for the hand-written un-filter.
 */
export function cgbiAsPlainPng(cgbi: Buffer): Buffer {
  let offset = 8
  let ihdr: Buffer | undefined
  const idat: Buffer[] = []
  while (offset < cgbi.length) {
    const length = cgbi.readUInt32BE(offset)
    const type = cgbi.toString('latin1', offset + 4, offset + 8)
    const data = cgbi.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') ihdr = data
    if (type === 'IDAT') idat.push(data)
    if (type === 'IEND') break
    offset += 12 + length
  }
  if (!ihdr) throw new Error('cgbiAsPlainPng: no IHDR')
  const zlibData = deflateSync(inflateRawSync(Buffer.concat(idat)))
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', zlibData), pngChunk('IEND')])
}
