/**
 * App icon out of Assets.car, the compiled asset catalog where modern apps keep their only icon.
 *
 * Assets.car is a BOMStore (big-endian block store) holding named blocks: CARHEADER, KEYFORMAT
 * (which attributes make up a rendition key), FACETKEYS (tree: asset name → attributes, incl. its
 * identifier) and RENDITIONS (tree: key → CSI rendition: "CTSI" header, TLVs, then pixel data in
 * an "MLEC" wrapper, possibly split into "KCBC" row chunks). CoreUI structures are little-endian.
 * There is no public spec and no maintained npm reader; the layout below was checked on the
 * fixtures (Xcode 12.5, 14.1 and 26.1 output). Only what they use is decoded: ARGB pixels
 * (premultiplied BGRA in memory), uncompressed or LZFSE. Anything else yields null, never a throw.
 */
import { LIMITS } from './limits.ts'
import { lzfseDecode } from './lzfse.ts'
import { encodePremultipliedBgra } from './png.ts'

/** Rendition key attributes (CoreUI's kCRThemeAttribute… numbering). */
const ATTR_APPEARANCE = 7
const ATTR_IDENTIFIER = 17
/** CSI TLV tag holding the bytes per row of the pixel data (rows are padded). */
const TLV_BYTES_PER_ROW = 1007
const COMPRESSION_NONE = 0
const COMPRESSION_LZFSE = 4

class CarError extends Error {}

function fail(message: string): never {
  throw new CarError(message)
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length))
}

interface Bom {
  view: DataView
  bytes: Uint8Array
  blocks: Array<{ address: number; length: number }>
  vars: Map<string, number>
}

function openBom(bytes: Uint8Array): Bom {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 32 || ascii(bytes, 0, 8) !== 'BOMStore') fail('not a BOMStore')
  const indexOffset = view.getUint32(16)
  const varsOffset = view.getUint32(24)
  if (indexOffset + 4 > bytes.length || varsOffset + 4 > bytes.length) fail('BOM header out of range')
  const count = view.getUint32(indexOffset)
  if (indexOffset + 4 + count * 8 > bytes.length) fail('BOM block index out of range')
  const blocks = []
  for (let i = 0; i < count; i++) {
    const address = view.getUint32(indexOffset + 4 + i * 8)
    const length = view.getUint32(indexOffset + 8 + i * 8)
    blocks.push(address + length <= bytes.length ? { address, length } : { address: 0, length: 0 })
  }
  const vars = new Map<string, number>()
  let p = varsOffset + 4
  for (let i = view.getUint32(varsOffset); i > 0; i--) {
    if (p + 5 > bytes.length) fail('BOM variables out of range')
    const nameLength = bytes[p + 4]!
    vars.set(ascii(bytes, p + 5, nameLength), view.getUint32(p))
    p += 5 + nameLength
  }
  return { view, bytes, blocks, vars }
}

function block(bom: Bom, id: number | undefined): { at: number; data: Uint8Array } {
  const entry = id === undefined ? undefined : bom.blocks[id]
  if (!entry || entry.length === 0) fail(`BOM block ${id} missing`)
  return { at: entry.address, data: bom.bytes.subarray(entry.address, entry.address + entry.length) }
}

/** All (key, value) pairs of a BOM tree, walking the leaf chain from the leftmost leaf. */
function treeEntries(bom: Bom, name: string): Array<{ key: Uint8Array; value: Uint8Array }> {
  const tree = block(bom, bom.vars.get(name))
  if (tree.data.length < 21 || ascii(tree.data, 0, 4) !== 'tree') fail(`${name} is not a BOM tree`)
  let node = block(bom, bom.view.getUint32(tree.at + 8))
  const seen = new Set<number>()
  const entries = []
  for (;;) {
    if (seen.has(node.at) || seen.size > bom.blocks.length) fail(`${name} tree has a cycle`)
    seen.add(node.at)
    if (node.data.length < 12) fail(`${name} tree node too short`)
    const isLeaf = bom.view.getUint16(node.at) !== 0
    const count = bom.view.getUint16(node.at + 2)
    if (node.data.length < 12 + count * 8) fail(`${name} tree node too short`)
    if (!isLeaf) {
      if (count === 0) fail(`${name} tree has an empty branch`)
      node = block(bom, bom.view.getUint32(node.at + 12))
      continue
    }
    for (let i = 0; i < count; i++) {
      const value = block(bom, bom.view.getUint32(node.at + 12 + i * 8)).data
      const key = block(bom, bom.view.getUint32(node.at + 16 + i * 8)).data
      entries.push({ key, value })
    }
    const forward = bom.view.getUint32(node.at + 4)
    if (forward === 0) return entries
    node = block(bom, forward)
  }
}

const le = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength)

interface Candidate {
  width: number
  height: number
  appearance: number
  csi: Uint8Array
}

/** Parses a CSI header if it is a non-empty ARGB bitmap we might decode. */
function argbCandidate(csi: Uint8Array, appearance: number): Candidate | null {
  if (csi.length < 184 || ascii(csi, 0, 4) !== 'ISTC' || ascii(csi, 24, 4) !== 'BGRA') return null
  const v = le(csi)
  const width = v.getUint32(12, true)
  const height = v.getUint32(16, true)
  if (width === 0 || height === 0 || v.getUint32(180, true) === 0) return null // 0 bytes: a link into an atlas
  return { width, height, appearance, csi }
}

/** Decodes a candidate's pixel data to premultiplied BGRA rows; null if its format is unsupported. */
function decodePixels(c: Candidate): { pixels: Uint8Array; bytesPerRow: number } | null {
  const v = le(c.csi)
  const tlvLength = v.getUint32(168, true)
  const dataStart = 184 + tlvLength
  const data = c.csi.subarray(dataStart, dataStart + v.getUint32(180, true))
  let bytesPerRow = c.width * 4
  for (let p = 184; p + 8 <= Math.min(dataStart, c.csi.length); p += 8 + v.getUint32(p + 4, true)) {
    if (v.getUint32(p, true) === TLV_BYTES_PER_ROW && p + 12 <= c.csi.length) bytesPerRow = v.getUint32(p + 8, true)
  }
  if (bytesPerRow < c.width * 4 || bytesPerRow > c.width * 4 + 1024) fail('implausible bytes per row')
  if (data.length < 16 || ascii(data, 0, 4) !== 'MLEC') return null
  const d = le(data)
  const compression = d.getUint32(8, true)
  if (compression !== COMPRESSION_NONE && compression !== COMPRESSION_LZFSE) return null

  // Either one payload of `length` bytes, or `count` KCBC chunks each covering some rows.
  const parts: Array<{ rows: number; payload: Uint8Array }> = []
  if (ascii(data, 16, 4) === 'KCBC') {
    let p = 16
    for (let i = d.getUint32(12, true); i > 0; i--) {
      if (p + 20 > data.length || ascii(data, p, 4) !== 'KCBC') fail('bad KCBC chunk')
      const length = d.getUint32(p + 16, true)
      parts.push({ rows: d.getUint32(p + 12, true), payload: data.subarray(p + 20, p + 20 + length) })
      p += 20 + length
    }
  } else {
    parts.push({ rows: c.height, payload: data.subarray(16, 16 + d.getUint32(12, true)) })
  }
  if (parts.reduce((sum, part) => sum + part.rows, 0) !== c.height) fail('chunks do not cover the image')

  const pixels = new Uint8Array(c.height * bytesPerRow)
  let out = 0
  for (const { rows, payload } of parts) {
    const size = rows * bytesPerRow
    const decoded = compression === COMPRESSION_LZFSE ? lzfseDecode(payload, size) : payload
    if (decoded.length !== size) fail('rendition data has the wrong size')
    pixels.set(decoded, out)
    out += size
  }
  return { pixels, bytesPerRow }
}

/**
 * The largest decodable rendition of the app icon asset `iconName` (CFBundleIconName, usually
 * "AppIcon") in an Assets.car, as a standard PNG. Prefers the default (light) appearance. Returns
 * null when there is no such icon or it is stored in a format not supported here; never throws.
 */
export function readAssetsCarIcon(bytes: Uint8Array, iconName = 'AppIcon'): { png: Buffer; width: number; height: number } | null {
  try {
    const bom = openBom(bytes)
    const keyFormat = block(bom, bom.vars.get('KEYFORMAT')).data
    if (keyFormat.length < 12 || ascii(keyFormat, 0, 4) !== 'tmfk') return null
    const tokenCount = le(keyFormat).getUint32(8, true)
    if (12 + tokenCount * 4 > keyFormat.length) return null
    const tokens = Array.from({ length: tokenCount }, (_, i) => le(keyFormat).getUint32(12 + i * 4, true))

    let identifier: number | undefined
    for (const { key, value } of treeEntries(bom, 'FACETKEYS')) {
      if (ascii(key, 0, key.length) !== iconName || value.length < 6) continue
      const v = le(value)
      for (let i = 0, n = v.getUint16(4, true); i < n && 10 + i * 4 <= value.length; i++) {
        if (v.getUint16(6 + i * 4, true) === ATTR_IDENTIFIER) identifier = v.getUint16(8 + i * 4, true)
      }
    }
    if (identifier === undefined) return null

    const candidates: Candidate[] = []
    for (const { key, value } of treeEntries(bom, 'RENDITIONS')) {
      const attrs = new Map<number, number>()
      for (let i = 0; i < tokens.length && i * 2 + 2 <= key.length; i++) attrs.set(tokens[i]!, le(key).getUint16(i * 2, true))
      if (attrs.get(ATTR_IDENTIFIER) !== identifier) continue
      const candidate = argbCandidate(value, attrs.get(ATTR_APPEARANCE) ?? 0)
      if (candidate && candidate.width * candidate.height <= LIMITS.iconPixels) candidates.push(candidate)
    }
    // Light appearance first (dark and tinted variants come second), then the biggest.
    candidates.sort((a, b) => Number(a.appearance !== 0) - Number(b.appearance !== 0) || b.width * b.height - a.width * a.height)
    for (const candidate of candidates) {
      try {
        const decoded = decodePixels(candidate)
        if (!decoded) continue
        const png = encodePremultipliedBgra(decoded.pixels, candidate.width, candidate.height, decoded.bytesPerRow)
        return { png, width: candidate.width, height: candidate.height }
      } catch {
        // A damaged or exotic rendition: try the next one.
      }
    }
    return null
  } catch {
    return null
  }
}
