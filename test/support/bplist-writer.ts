/**
 * A tiny binary-plist (bplist00) writer for tests. `toBinaryPlist` turns an ordinary value into
 * a plist; `encodeBinaryPlist` takes an explicit object table whose containers refer to other
 * objects by index, so tests can build what no well-behaved writer would: cycles, very deep
 * nesting, shared sub-trees, bad offsets. `patchTrailer` then corrupts the trailer at will.
 */
import type { PlistValue } from '../../src/ipa/types.ts'

/** One object of the table. Containers hold indexes into the table, not values. */
export type BplistObject =
  | null
  | boolean
  | number
  | bigint
  | string
  | Date
  | Uint8Array
  | { float32: number }
  | { uid: number }
  | { utf16: string }
  | { array: number[] }
  | { set: number[] }
  | { dict: Array<[key: number, value: number]> }
  /** Bytes written as they are, for markers the writer does not otherwise produce. */
  | { raw: Uint8Array }

export interface EncodeOptions {
  top?: number
  /** Bytes per offset-table entry / per object reference; default: the smallest that fits. */
  offsetSize?: number
  refSize?: number
  /** Replace some offset-table entries (object index → offset). */
  offsets?: Record<number, number>
}

const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1)

/** Encodes an explicit object table as a bplist00 file. */
export function encodeBinaryPlist(objects: BplistObject[], options: EncodeOptions = {}): Uint8Array {
  const refSize = options.refSize ?? bytesFor(objects.length)
  const chunks: Buffer[] = [Buffer.from('bplist00', 'latin1')]
  const offsets: number[] = []
  let position = 8
  for (const object of objects) {
    offsets.push(position)
    const encoded = encodeObject(object, refSize)
    chunks.push(encoded)
    position += encoded.length
  }
  for (const [index, offset] of Object.entries(options.offsets ?? {})) offsets[Number(index)] = offset
  const tableOffset = position
  const offsetSize = options.offsetSize ?? bytesFor(Math.max(tableOffset, ...offsets))
  chunks.push(Buffer.concat(offsets.map((offset) => uint(offset, offsetSize))))
  const trailer = Buffer.alloc(32)
  trailer[6] = offsetSize
  trailer[7] = refSize
  trailer.writeBigUInt64BE(BigInt(objects.length), 8)
  trailer.writeBigUInt64BE(BigInt(options.top ?? 0), 16)
  trailer.writeBigUInt64BE(BigInt(tableOffset), 24)
  chunks.push(trailer)
  return new Uint8Array(Buffer.concat(chunks))
}

/** Flattens a plist value into an object table (no sharing) and encodes it. */
export function toBinaryPlist(value: PlistValue): Uint8Array {
  const objects: BplistObject[] = []
  const add = (item: PlistValue): number => {
    const index = objects.length
    objects.push(null)
    if (Array.isArray(item)) {
      objects[index] = { array: item.map(add) }
    } else if (item !== null && typeof item === 'object' && !(item instanceof Date) && !(item instanceof Uint8Array)) {
      objects[index] = { dict: Object.entries(item).map(([key, child]): [number, number] => [add(key), add(child)]) }
    } else {
      objects[index] = item
    }
    return index
  }
  add(value)
  return encodeBinaryPlist(objects)
}

export interface TrailerPatch {
  offsetSize?: number
  refSize?: number
  objectCount?: bigint
  topObject?: bigint
  tableOffset?: bigint
}

/** Returns a copy of `bytes` with trailer fields overwritten. */
export function patchTrailer(bytes: Uint8Array, patch: TrailerPatch): Uint8Array {
  const copy = Buffer.from(bytes)
  const t = copy.length - 32
  if (patch.offsetSize !== undefined) copy[t + 6] = patch.offsetSize
  if (patch.refSize !== undefined) copy[t + 7] = patch.refSize
  if (patch.objectCount !== undefined) copy.writeBigUInt64BE(patch.objectCount, t + 8)
  if (patch.topObject !== undefined) copy.writeBigUInt64BE(patch.topObject, t + 16)
  if (patch.tableOffset !== undefined) copy.writeBigUInt64BE(patch.tableOffset, t + 24)
  return new Uint8Array(copy)
}

function encodeObject(object: BplistObject, refSize: number): Buffer {
  if (object === null) return Buffer.from([0x00])
  if (typeof object === 'boolean') return Buffer.from([object ? 0x09 : 0x08])
  if (typeof object === 'bigint') return encodeInteger(object)
  if (typeof object === 'number') {
    if (Number.isInteger(object)) return encodeInteger(BigInt(object))
    const body = Buffer.alloc(8)
    body.writeDoubleBE(object)
    return Buffer.concat([Buffer.from([0x23]), body])
  }
  if (typeof object === 'string') {
    // ASCII when it can be, as Apple does; UTF-16BE otherwise.
    if (/^[\x00-\x7f]*$/.test(object)) return Buffer.concat([header(0x5, object.length), Buffer.from(object, 'latin1')])
    return encodeUtf16(object)
  }
  if (object instanceof Date) {
    const body = Buffer.alloc(8)
    body.writeDoubleBE((object.getTime() - APPLE_EPOCH_MS) / 1000)
    return Buffer.concat([Buffer.from([0x33]), body])
  }
  if (object instanceof Uint8Array) return Buffer.concat([header(0x4, object.length), object])
  if ('float32' in object) {
    const body = Buffer.alloc(4)
    body.writeFloatBE(object.float32)
    return Buffer.concat([Buffer.from([0x22]), body])
  }
  if ('uid' in object) {
    const size = bytesFor(object.uid)
    return Buffer.concat([Buffer.from([0x80 | (size - 1)]), uint(object.uid, size)])
  }
  if ('utf16' in object) return encodeUtf16(object.utf16)
  if ('raw' in object) return Buffer.from(object.raw)
  const refs = (list: number[]): Buffer => Buffer.concat(list.map((ref) => uint(ref, refSize)))
  if ('array' in object) return Buffer.concat([header(0xa, object.array.length), refs(object.array)])
  if ('set' in object) return Buffer.concat([header(0xc, object.set.length), refs(object.set)])
  const keys = object.dict.map(([key]) => key)
  const values = object.dict.map(([, value]) => value)
  return Buffer.concat([header(0xd, object.dict.length), refs(keys), refs(values)])
}

function encodeUtf16(text: string): Buffer {
  const body = Buffer.from(text, 'utf16le').swap16()
  return Buffer.concat([header(0x6, body.length / 2), body])
}

/** Integers as Apple writes them: 1/2/4 bytes unsigned, 8 bytes signed, 16 bytes beyond int64. */
function encodeInteger(value: bigint): Buffer {
  if (value >= 0n && value < 2n ** 32n) {
    const size = value < 0x100n ? 1 : value < 0x10000n ? 2 : 4
    return Buffer.concat([Buffer.from([0x10 | Math.log2(size)]), uint(Number(value), size)])
  }
  if (value >= -(2n ** 63n) && value < 2n ** 63n) {
    const body = Buffer.alloc(8)
    body.writeBigInt64BE(value)
    return Buffer.concat([Buffer.from([0x13]), body])
  }
  const body = Buffer.alloc(16)
  body.writeBigInt64BE(value >> 64n)
  body.writeBigUInt64BE(value & (2n ** 64n - 1n), 8)
  return Buffer.concat([Buffer.from([0x14]), body])
}

/** Marker with the count in the low nibble, or 0xF followed by an int object when it does not fit. */
function header(type: number, count: number): Buffer {
  if (count < 15) return Buffer.from([(type << 4) | count])
  return Buffer.concat([Buffer.from([(type << 4) | 0xf]), encodeInteger(BigInt(count))])
}

function bytesFor(value: number): number {
  return value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 2 ** 32 ? 4 : 8
}

function uint(value: number, size: number): Buffer {
  const out = Buffer.alloc(size)
  let rest = BigInt(value)
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return out
}
