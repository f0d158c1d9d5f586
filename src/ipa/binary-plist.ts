/**
 * A small, defensive reader for Apple's binary property lists ("bplist00").
 *
 * Written by hand rather than taken from npm: `bplist-parser` (and the binary reader inside
 * `plist`) recurse through object references without cycle detection or a depth limit, so a
 * cyclic or deeply nested bplist overflows the stack, and they trust offsets and lengths read
 * from the file. Here every offset and length is checked against the buffer, nesting is capped
 * at `LIMITS.plistDepth`, the total number of values produced at `LIMITS.plistObjects` (shared
 * references cannot blow up into a "billion laughs"), and a container that contains itself is
 * refused.
 *
 * Format: Apple's CFBinaryPList.c. 8-byte header, objects, offset table, 32-byte trailer.
 */
import { AirstripError } from '../errors.ts'
import { LIMITS } from './limits.ts'
import type { PlistDict, PlistValue } from './types.ts'

const HEADER = 'bplist00'
const TRAILER_BYTES = 32
/** Binary plist dates count seconds from 2001-01-01T00:00:00Z. */
const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1)
/** Largest time value a JS Date can hold, in ms either side of 1970. */
const MAX_DATE_MS = 8.64e15

interface Trailer {
  offsetSize: number
  refSize: number
  objectCount: number
  topObject: number
  tableOffset: number
}

/** Parses a binary property list; hostile input gives `invalid-plist` with the reason. */
export function parseBinaryPlist(bytes: Uint8Array, what: string): PlistValue {
  const fail = (message: string): AirstripError => new AirstripError('invalid-plist', `${what}: ${message}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

  /** Big-endian unsigned integer of 1..8 bytes; anything beyond 2^53 is no valid offset or length. */
  const readUnsigned = (pos: number, size: number, label: string): number => {
    if (size <= 6) {
      // Up to 48 bits cannot exceed 2^53: plain numbers are enough (and much faster than BigInt).
      let small = 0
      for (let i = 0; i < size; i++) small = small * 256 + bytes[pos + i]!
      return small
    }
    let value = 0n
    for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(bytes[pos + i]!)
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${label} ${value} is out of range`)
    return Number(value)
  }

  const trailer = readTrailer()
  const objectsEnd = trailer.tableOffset
  // Containers on the path from the top object to the one being read: seeing one again is a cycle.
  const onPath = new Uint8Array(trailer.objectCount)
  let produced = 0
  // Strings are immutable, so one decoded string can serve every reference to it (keys repeat a lot).
  const strings = new Map<number, string>()

  function readTrailer(): Trailer {
    if (bytes.length < HEADER.length + 1 + TRAILER_BYTES) throw fail(`too short for a binary property list (${bytes.length} bytes)`)
    const header = buffer.toString('latin1', 0, HEADER.length)
    if (header !== HEADER) throw fail(`unsupported binary property list version "${header}"`)
    const t = bytes.length - TRAILER_BYTES
    const offsetSize = bytes[t + 6]!
    const refSize = bytes[t + 7]!
    if (offsetSize < 1 || offsetSize > 8) throw fail(`trailer has an invalid offset size ${offsetSize}`)
    if (refSize < 1 || refSize > 8) throw fail(`trailer has an invalid object reference size ${refSize}`)
    const count = view.getBigUint64(t + 8)
    const top = view.getBigUint64(t + 16)
    const table = view.getBigUint64(t + 24)
    if (count === 0n) throw fail('trailer declares no objects')
    if (count > BigInt(LIMITS.plistObjects)) throw fail(`trailer declares ${count} objects, more than the ${LIMITS.plistObjects} allowed`)
    if (top >= count) throw fail(`top object ${top} is not among the ${count} objects`)
    const tableEnd = table + count * BigInt(offsetSize)
    if (table < BigInt(HEADER.length + 1) || tableEnd > BigInt(t)) {
      throw fail(`offset table (${table}..${tableEnd}) lies outside the file (${t} bytes before the trailer)`)
    }
    return { offsetSize, refSize, objectCount: Number(count), topObject: Number(top), tableOffset: Number(table) }
  }

  const offsetOf = (index: number): number => {
    const offset = readUnsigned(trailer.tableOffset + index * trailer.offsetSize, trailer.offsetSize, `offset of object ${index}`)
    if (offset < HEADER.length || offset >= objectsEnd) throw fail(`object ${index} has offset ${offset}, outside the object area`)
    return offset
  }

  /** Checks that `length` bytes at `pos` lie inside the object area before they are read. */
  const need = (index: number, pos: number, length: number): void => {
    if (pos + length > objectsEnd) throw fail(`object ${index} (${length} bytes at offset ${pos}) runs past the end of the object area`)
  }

  /** Element count of a data/string/container object: low nibble, or an int object after it when 0xF. */
  const readCount = (index: number, pos: number, info: number): { count: number; start: number } => {
    if (info !== 0xf) return { count: info, start: pos + 1 }
    need(index, pos + 1, 1)
    const marker = bytes[pos + 1]!
    const size = 1 << (marker & 0xf)
    if (marker >> 4 !== 0x1 || size > 8) throw fail(`object ${index} has a malformed length (marker 0x${marker.toString(16)})`)
    need(index, pos + 2, size)
    return { count: readUnsigned(pos + 2, size, `length of object ${index}`), start: pos + 2 + size }
  }

  const readRef = (index: number, pos: number): number => {
    const ref = readUnsigned(pos, trailer.refSize, `reference in object ${index}`)
    if (ref >= trailer.objectCount) throw fail(`object ${index} refers to object ${ref}, but there are only ${trailer.objectCount}`)
    return ref
  }

  const readInteger = (index: number, pos: number, size: number): number | bigint => {
    need(index, pos, size)
    if (size <= 4) return readUnsigned(pos, size, 'integer')
    let value: bigint
    if (size === 8) value = view.getBigInt64(pos)
    else value = (view.getBigInt64(pos) << 64n) | view.getBigUint64(pos + 8)
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
  }

  function readObject(index: number, depth: number): PlistValue {
    if (onPath[index] === 1) throw fail(`object ${index} contains itself (reference cycle)`)
    produced += 1
    if (produced > LIMITS.plistObjects) throw fail(`expands to more than ${LIMITS.plistObjects} values`)
    const cached = strings.get(index)
    if (cached !== undefined) return cached
    const pos = offsetOf(index)
    const marker = bytes[pos]!
    const type = marker >> 4
    const info = marker & 0xf
    switch (type) {
      case 0x0:
        if (marker === 0x00) return null
        if (marker === 0x08) return false
        if (marker === 0x09) return true
        break
      case 0x1:
        if (info <= 4) return readInteger(index, pos + 1, 1 << info)
        break
      case 0x2: {
        if (info !== 2 && info !== 3) break
        need(index, pos + 1, 1 << info)
        return info === 2 ? view.getFloat32(pos + 1) : view.getFloat64(pos + 1)
      }
      case 0x3: {
        if (info !== 3) break
        need(index, pos + 1, 8)
        const ms = APPLE_EPOCH_MS + view.getFloat64(pos + 1) * 1000
        if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) throw fail(`object ${index} is a date out of range`)
        return new Date(ms)
      }
      case 0x4: {
        const { count, start } = readCount(index, pos, info)
        need(index, start, count)
        // A copy, so the result does not keep (or alias) the whole input buffer.
        return new Uint8Array(bytes.subarray(start, start + count))
      }
      case 0x5: {
        const { count, start } = readCount(index, pos, info)
        need(index, start, count)
        const text = buffer.toString('latin1', start, start + count)
        strings.set(index, text)
        return text
      }
      case 0x6: {
        const { count, start } = readCount(index, pos, info)
        need(index, start, count * 2)
        // Copied before swapping so the caller's buffer is left untouched.
        const text = Buffer.from(buffer.subarray(start, start + count * 2)).swap16().toString('utf16le')
        strings.set(index, text)
        return text
      }
      case 0x8: {
        // NSKeyedArchiver UIDs; the XML form of the same value is a {CF$UID: n} dict.
        const size = info + 1
        if (size > 8) break
        need(index, pos + 1, size)
        return { CF$UID: readUnsigned(pos + 1, size, `UID in object ${index}`) }
      }
      case 0xa:
      case 0xb:
      case 0xc:
      case 0xd:
        return readContainer(index, pos, type, info, depth + 1)
    }
    throw fail(`object ${index} has an unsupported type marker 0x${marker.toString(16).padStart(2, '0')}`)
  }

  function readContainer(index: number, pos: number, type: number, info: number, depth: number): PlistValue {
    if (depth > LIMITS.plistDepth) throw fail(`nested deeper than ${LIMITS.plistDepth} levels`)
    const { count, start } = readCount(index, pos, info)
    const refs = type === 0xd ? count * 2 : count
    need(index, start, refs * trailer.refSize)
    onPath[index] = 1
    const ref = (i: number): number => readRef(index, start + i * trailer.refSize)
    let result: PlistValue
    if (type === 0xd) {
      const dict: PlistDict = {}
      for (let i = 0; i < count; i++) {
        const key = readObject(ref(i), depth)
        if (typeof key !== 'string') throw fail(`dictionary object ${index} has a key that is not a string`)
        if (key === '__proto__') throw fail(`dictionary object ${index} has the forbidden key "__proto__"`)
        dict[key] = readObject(ref(count + i), depth)
      }
      result = dict
    } else {
      // Arrays, ordered sets and sets all become arrays.
      const array: PlistValue[] = []
      for (let i = 0; i < count; i++) array.push(readObject(ref(i), depth))
      result = array
    }
    onPath[index] = 0
    return result
  }

  return readObject(trailer.topObject, 0)
}
