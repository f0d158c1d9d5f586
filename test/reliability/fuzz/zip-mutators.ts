/**
 * ZIP-aware mutations: find the end-of-central-directory record (and its ZIP64 locator, record and
 * extra fields), the central-directory records and the local headers, then rewrite one length,
 * offset, count, method, flag or name with an edge value. Byte flips alone mostly end at a CRC
 * check; these reach the code that trusts sizes and offsets.
 */
import { crc32 } from 'node:zlib'
import { interestingValue, writeUnsigned } from './byte-mutators.ts'
import type { Random } from './random.ts'

interface Field {
  at: number
  width: 1 | 2 | 4 | 8
  what: string
}

interface ZipLayout {
  fields: Field[]
  /** Entries stored without compression: data that can be changed with a valid CRC. */
  stored: Array<{ central: number; local: number; dataStart: number; size: number }>
  /** Where entry names are, to inject hostile names. */
  names: Array<{ at: number; length: number }>
  related: number[]
}

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

/** Finds the structures of a (possibly already damaged) ZIP; an empty layout when none is found. */
export function zipLayout(bytes: Buffer): ZipLayout {
  const layout: ZipLayout = { fields: [], stored: [], names: [], related: [bytes.length] }
  let eocd = -1
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (bytes.readUInt32LE(at) === EOCD) {
      eocd = at
      break
    }
  }
  if (eocd < 0) return layout
  const push = (at: number, width: Field['width'], what: string): void => void layout.fields.push({ at, width, what })
  push(eocd + 4, 2, 'eocd.disk')
  push(eocd + 8, 2, 'eocd.entriesOnDisk')
  push(eocd + 10, 2, 'eocd.entries')
  push(eocd + 12, 4, 'eocd.cdSize')
  push(eocd + 16, 4, 'eocd.cdOffset')
  push(eocd + 20, 2, 'eocd.commentLength')
  let cdOffset = bytes.readUInt32LE(eocd + 16)
  let entries = bytes.readUInt16LE(eocd + 10)
  layout.related.push(eocd, cdOffset)
  const locator = eocd - 20
  if (locator >= 0 && bytes.readUInt32LE(locator) === ZIP64_LOCATOR) {
    push(locator + 4, 4, 'zip64locator.disk')
    push(locator + 8, 8, 'zip64locator.eocdOffset')
    push(locator + 16, 4, 'zip64locator.disks')
    const record = Number(bytes.readBigUInt64LE(locator + 8))
    if (record >= 0 && record + 56 <= bytes.length && bytes.readUInt32LE(record) === ZIP64_EOCD) {
      layout.related.push(record)
      push(record + 4, 8, 'zip64eocd.recordSize')
      push(record + 24, 8, 'zip64eocd.entriesOnDisk')
      push(record + 32, 8, 'zip64eocd.entries')
      push(record + 40, 8, 'zip64eocd.cdSize')
      push(record + 48, 8, 'zip64eocd.cdOffset')
      cdOffset = Number(bytes.readBigUInt64LE(record + 48))
      entries = Number(bytes.readBigUInt64LE(record + 32))
    }
  }
  let at = cdOffset
  for (let n = 0; n < Math.min(entries, 5000) && at + 46 <= bytes.length && bytes.readUInt32LE(at) === CENTRAL; n++) {
    const nameLength = bytes.readUInt16LE(at + 28)
    const extraLength = bytes.readUInt16LE(at + 30)
    const commentLength = bytes.readUInt16LE(at + 32)
    const local = bytes.readUInt32LE(at + 42)
    const method = bytes.readUInt16LE(at + 10)
    let compressed = bytes.readUInt32LE(at + 20)
    for (const [offset, width, what] of [[8, 2, 'flags'], [10, 2, 'method'], [16, 4, 'crc'], [20, 4, 'compressedSize'], [24, 4, 'size'], [28, 2, 'nameLength'], [30, 2, 'extraLength'], [32, 2, 'commentLength'], [34, 2, 'diskStart'], [42, 4, 'localOffset']] as const) {
      push(at + offset, width, `central.${what}`)
    }
    layout.names.push({ at: at + 46, length: nameLength })
    // ZIP64 extended information (0x0001) in the central record's extra field: 8-byte sizes and offset.
    for (let x = at + 46 + nameLength; x + 4 <= Math.min(bytes.length, at + 46 + nameLength + extraLength); ) {
      const id = bytes.readUInt16LE(x)
      const size = bytes.readUInt16LE(x + 2)
      if (id === 0x0001) {
        push(x + 2, 2, 'zip64extra.size')
        for (let v = 0; v + 8 <= size && x + 4 + v + 8 <= bytes.length; v += 8) {
          push(x + 4 + v, 8, 'zip64extra.value')
          if (v === 8) compressed = Number(bytes.readBigUInt64LE(x + 4 + v))
        }
      }
      x += 4 + size
    }
    if (local + 30 <= bytes.length && bytes.readUInt32LE(local) === LOCAL) {
      layout.related.push(local)
      for (const [offset, width, what] of [[6, 2, 'flags'], [8, 2, 'method'], [14, 4, 'crc'], [18, 4, 'compressedSize'], [22, 4, 'size'], [26, 2, 'nameLength'], [28, 2, 'extraLength']] as const) {
        push(local + offset, width, `local.${what}`)
      }
      const dataStart = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28)
      if (method === 0 && dataStart + compressed <= bytes.length) layout.stored.push({ central: at, local, dataStart, size: compressed })
    }
    at += 46 + nameLength + extraLength + commentLength
  }
  return layout
}

const HOSTILE_NAMES = ['../', '/', '..\\', '\0', 'C:', 'Payload/../', '//', '\u00ff'] as const

/** Rewrites one structural field, injects a hostile name, or changes a stored entry's data with a matching CRC. */
export function mutateZip(input: Buffer, random: Random): Buffer {
  const layout = zipLayout(input)
  const out = Buffer.from(input)
  const roll = random.int(10)
  if (roll === 0 && layout.names.length > 0) {
    const name = random.pick(layout.names)
    const hostile = Buffer.from(random.pick(HOSTILE_NAMES))
    hostile.copy(out, name.at + random.int(Math.max(1, name.length)), 0, Math.min(hostile.length, name.length))
    return out
  }
  if (roll === 1 && layout.stored.length > 0) {
    // Damage the data but keep the CRC true: the damage then reaches the entry's own parser.
    const entry = random.pick(layout.stored)
    for (let n = random.between(1, 8); n > 0 && entry.size > 0; n--) out[entry.dataStart + random.int(entry.size)]! ^= 1 << random.int(8)
    const crc = crc32(out.subarray(entry.dataStart, entry.dataStart + entry.size))
    writeUnsigned(out, entry.central + 16, 4, BigInt(crc))
    writeUnsigned(out, entry.local + 14, 4, BigInt(crc))
    return out
  }
  if (layout.fields.length === 0) return out
  for (let n = random.chance(0.7) ? 1 : random.between(2, 4); n > 0; n--) {
    const field = random.pick(layout.fields)
    const current = field.width === 8 ? out.readBigUInt64LE(field.at) : BigInt(out.readUIntLE(field.at, field.width))
    writeUnsigned(out, field.at, field.width, interestingValue(random, current, field.width, layout.related))
  }
  return out
}
