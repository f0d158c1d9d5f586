/**
 * Structure-aware mutations of the formats inside an .ipa and a device's answer: DER/BER (the CMS
 * envelopes of profiles, code signatures and device responses), PNG and CgBI chunks, binary plist
 * trailers and offset tables, and XML plist text (tags, entities, nesting, values).
 */
import { crc32, deflateRawSync, deflateSync } from 'node:zlib'
import { INTERESTING_32, interestingValue, writeUnsigned } from './byte-mutators.ts'
import type { Random } from './random.ts'

// ---- DER / BER (CMS) -------------------------------------------------------------------------

interface Tlv {
  at: number
  headerLength: number
  /** -1 for an indefinite length (BER). */
  length: number
  constructed: boolean
}

/** Walks TLVs depth-first (at most `limit`), tolerating damage: stops where the bytes stop making sense. */
export function derNodes(bytes: Buffer, limit = 2000): Tlv[] {
  const nodes: Tlv[] = []
  const walk = (start: number, end: number, depth: number): void => {
    let at = start
    while (at + 2 <= end && nodes.length < limit && depth < 64) {
      const tag = bytes[at]!
      if (tag === 0 && bytes[at + 1] === 0) return // end-of-contents of an indefinite length
      let p = at + 1
      if ((tag & 0x1f) === 0x1f) while (p < end && bytes[p]! & 0x80) p++
      p++
      if (p >= end) return
      const first = bytes[p]!
      let length: number
      let headerLength: number
      if (first < 0x80) [length, headerLength] = [first, p + 1 - at]
      else if (first === 0x80) [length, headerLength] = [-1, p + 1 - at]
      else {
        const count = first & 0x7f
        if (count > 4 || p + 1 + count > end) return
        length = bytes.readUIntBE(p + 1, count)
        headerLength = p + 1 + count - at
      }
      const constructed = (tag & 0x20) !== 0
      nodes.push({ at, headerLength, length, constructed })
      const contentStart = at + headerLength
      const contentEnd = length < 0 ? end : Math.min(end, contentStart + length)
      if (constructed) walk(contentStart, contentEnd, depth + 1)
      if (length < 0) return // an indefinite length's extent is unknown without a full parse
      at = contentStart + length
    }
  }
  walk(0, bytes.length, 0)
  return nodes
}

const OIDS = ['2a864886f70d010702', '2a864886f70d010701', '2a864886f70d01010b', '608648016503040201', '2a8648ce3d040302', ''] as const

/** Rewrites a length (short, long, indefinite, huge), a tag, an OID, or cuts / repeats a node. */
export function mutateDer(input: Buffer, random: Random): Buffer {
  const nodes = derNodes(input)
  if (nodes.length === 0) return input
  const node = random.pick(nodes)
  const head = input.subarray(0, node.at)
  const contentStart = node.at + node.headerLength
  const end = node.length < 0 ? input.length : Math.min(input.length, contentStart + node.length)
  const tagEnd = node.at + 1
  const content = input.subarray(contentStart, end)
  const tail = input.subarray(end)
  switch (random.int(7)) {
    case 0: {
      // A lying length: the header claims something else than what follows.
      const claimed = random.pick([0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0xffffff, 0x7fffffff, 0xffffffff, content.length + random.between(-3, 3)])
      return Buffer.concat([input.subarray(0, tagEnd), encodeLength(Math.max(0, claimed), random), content, tail])
    }
    case 1:
      // Indefinite length (BER), with or without its end-of-contents.
      return Buffer.concat([input.subarray(0, tagEnd), Buffer.from([0x80]), content, random.chance(0.5) ? Buffer.from([0, 0]) : Buffer.alloc(0), tail])
    case 2: {
      const out = Buffer.from(input)
      out[node.at] = random.pick([0x02, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0x30, 0x31, 0xa0, 0xa3, 0x24, 0x1f, random.int(256)])
      return out
    }
    case 3:
      return Buffer.concat([head, input.subarray(node.at, contentStart), content.subarray(0, random.int(content.length + 1)), tail])
    case 4:
      return Buffer.concat([head, input.subarray(node.at, end), input.subarray(node.at, end), tail])
    case 5: {
      const oid = Buffer.from(random.pick(OIDS), 'hex')
      return Buffer.concat([head, Buffer.from([0x06]), encodeLength(oid.length, random), oid, tail])
    }
    default:
      return Buffer.concat([head, tail])
  }
}

function encodeLength(length: number, random: Random): Buffer {
  if (length < 0x80 && random.chance(0.7)) return Buffer.from([length])
  // Long form, sometimes with needless leading zero bytes (non-minimal DER) or 8 length bytes.
  const width = random.pick([1, 2, 4, 4, 8])
  const out = Buffer.alloc(1 + width)
  out[0] = 0x80 | width
  writeUnsigned(out, 1, width, BigInt(length), true)
  return out
}

// ---- PNG / CgBI --------------------------------------------------------------------------------

interface Chunk {
  type: string
  data: Buffer
}

function pngChunks(bytes: Buffer): { signature: Buffer; chunks: Chunk[] } {
  const chunks: Chunk[] = []
  let at = 8
  while (at + 12 <= bytes.length && chunks.length < 1000) {
    const length = bytes.readUInt32BE(at)
    if (at + 12 + length > bytes.length) break
    chunks.push({ type: bytes.toString('latin1', at + 4, at + 8), data: bytes.subarray(at + 8, at + 8 + length) })
    at += 12 + length
  }
  return { signature: bytes.subarray(0, 8), chunks }
}

function pngChunk(type: string, data: Buffer, fixCrc: boolean, random: Random): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type.padEnd(4, ' ').slice(0, 4), 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(fixCrc ? crc32(data, crc32(head.subarray(4))) : random.int(2 ** 32), 0)
  return Buffer.concat([head, data, crc])
}

/** IHDR fields, chunk order and presence (CgBI, IEND), IDAT contents (with true CRCs, or a deflate bomb). */
export function mutatePng(input: Buffer, random: Random): Buffer {
  const { signature, chunks } = pngChunks(input)
  if (chunks.length === 0) return input
  const fixCrc = random.chance(0.85)
  const roll = random.int(8)
  const index = random.int(chunks.length)
  if (roll === 0) {
    const ihdr = chunks.find((c) => c.type === 'IHDR')
    if (ihdr && ihdr.data.length >= 13) {
      const data = Buffer.from(ihdr.data)
      const field = random.pick([0, 4, 8, 9, 10, 11, 12])
      if (field < 8) data.writeUInt32BE(random.pick([0, 1, 4096, 4097, 65535, 0x7fffffff, 0xffffffff, random.int(10_000)]), field)
      else data[field] = random.pick([0, 1, 2, 3, 4, 6, 8, 16, 255])
      ihdr.data = data
    }
  } else if (roll === 1) {
    chunks.splice(index, 1)
  } else if (roll === 2) {
    chunks.splice(index, 0, { ...chunks[random.int(chunks.length)]! })
  } else if (roll === 3) {
    const cgbi = chunks.findIndex((c) => c.type === 'CgBI')
    if (cgbi >= 0) chunks.splice(cgbi, 1)
    else chunks.unshift({ type: 'CgBI', data: Buffer.from([0x50, 0x00, 0x20, 0x06]) })
  } else if (roll === 4) {
    // Inflates far beyond what IHDR promises: the decoder must stop, not allocate.
    const isCgbi = chunks.some((c) => c.type === 'CgBI')
    const data = deflateBomb(random.pick([1, 8, 64]), isCgbi && random.chance(0.7))
    const first = chunks.findIndex((c) => c.type === 'IDAT')
    chunks.splice(first >= 0 ? first : chunks.length, first >= 0 ? 1 : 0, { type: 'IDAT', data })
  } else if (roll === 5) {
    const idat = chunks.filter((c) => c.type === 'IDAT')
    const target = idat.length > 0 ? random.pick(idat) : chunks[index]!
    const data = Buffer.from(target.data)
    for (let n = random.between(1, 6); n > 0 && data.length > 0; n--) data[random.int(data.length)]! ^= 1 << random.int(8)
    target.data = data
  } else if (roll === 6) {
    chunks[index] = { ...chunks[index]!, type: random.pick(['IHDR', 'IDAT', 'IEND', 'CgBI', 'PLTE', 'tRNS', 'iCCP', 'zzzz']) }
  } else {
    // A length field that lies (not re-encodable through pngChunk: write it raw).
    const body = Buffer.concat(chunks.map((c) => pngChunk(c.type, c.data, fixCrc, random)))
    const out = Buffer.concat([signature, body])
    let at = 8
    for (let i = 0; i < index; i++) at += 12 + chunks[i]!.data.length
    if (at + 4 <= out.length) out.writeUInt32BE(random.pick(INTERESTING_32), at)
    return out
  }
  return Buffer.concat([signature, ...chunks.map((c) => pngChunk(c.type, c.data, fixCrc, random))])
}

const bombs = new Map<string, Buffer>()

/** `mib` MiB of zeros, deflated (raw for CgBI, zlib-wrapped otherwise); made once per kind. */
function deflateBomb(mib: number, raw: boolean): Buffer {
  const key = `${mib}:${raw}`
  let bomb = bombs.get(key)
  if (!bomb) {
    const zeros = Buffer.alloc(mib * 1024 * 1024)
    bomb = raw ? deflateRawSync(zeros, { level: 9 }) : deflateSync(zeros, { level: 9 })
    bombs.set(key, bomb)
  }
  return bomb
}

// ---- Binary plist --------------------------------------------------------------------------------

/** Trailer fields (offset and reference sizes, object count, top object, table offset), offset-table entries, object markers. */
export function mutateBinaryPlist(input: Buffer, random: Random): Buffer {
  if (input.length < 40 || !input.subarray(0, 6).equals(Buffer.from('bplist'))) return input
  const out = Buffer.from(input)
  const trailer = out.length - 32
  const offsetSize = out[trailer + 6]!
  const objectCount = out.readBigUInt64BE(trailer + 8)
  const tableOffset = Number(out.readBigUInt64BE(trailer + 24))
  const roll = random.int(4)
  if (roll === 0) {
    out[trailer + random.pick([6, 7])] = random.pick([0, 1, 2, 3, 4, 5, 8, 9, 16, 255])
  } else if (roll === 1) {
    const field = random.pick([8, 16, 24])
    writeUnsigned(out, trailer + field, 8, interestingValue(random, out.readBigUInt64BE(trailer + field), 8, [out.length, tableOffset, Number(objectCount)]), true)
  } else if (roll === 2 && offsetSize >= 1 && offsetSize <= 8 && objectCount > 0n) {
    const entry = tableOffset + random.int(Number(objectCount > 10_000n ? 10_000n : objectCount)) * offsetSize
    writeUnsigned(out, entry, offsetSize, BigInt(random.pick([0, 8, tableOffset, trailer, out.length, random.int(out.length)])), true)
  } else {
    // An object's marker byte: type nibble and length nibble (0xF: an integer length follows).
    const at = 8 + random.int(Math.max(1, Math.min(tableOffset, trailer) - 8))
    out[at] = random.pick([0x0f, 0x13, 0x14, 0x23, 0x33, 0x4f, 0x5f, 0x6f, 0x80, 0xa0, 0xaf, 0xcf, 0xd0, 0xdf, 0xff, random.int(256)])
  }
  return out
}

// ---- XML plist ---------------------------------------------------------------------------------

const PLIST_TAGS = ['dict', 'array', 'key', 'string', 'integer', 'real', 'date', 'data', 'true/', 'false/', 'plist'] as const
const ODD_VALUES = ['99999999999999999999999999', '-9223372036854775809', '0x10', '1e400', 'NaN', '', '2026-13-45T99:99:99Z', '!!!not base64!!!', '&amp;&lt;&#0;&#xD800;', '\u0000', '\uffff'] as const

/** Tag names, closing tags, entity declarations (billion laughs, external entities), deep nesting, odd values, bad UTF-8. */
export function mutateXmlPlist(input: Buffer, random: Random): Buffer {
  let text = input.toString('latin1')
  const tags = [...text.matchAll(/<\/?([a-zA-Z]+)\/?>/g)]
  switch (random.int(8)) {
    case 0:
      if (tags.length > 0) {
        const tag = random.pick(tags)
        text = text.slice(0, tag.index) + tag[0].replace(tag[1]!, random.pick(PLIST_TAGS)) + text.slice(tag.index + tag[0].length)
      }
      break
    case 1: {
      const closing = tags.filter((t) => t[0].startsWith('</'))
      if (closing.length > 0) {
        const tag = random.pick(closing)
        text = text.slice(0, tag.index) + text.slice(tag.index + tag[0].length)
      }
      break
    }
    case 2: {
      const laughs = '<!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY x SYSTEM "file:///etc/passwd">]>'
      text = text.replace(/<!DOCTYPE[^>]*>/, '').replace(/<plist/, `${laughs}<plist`).replace(/<string>[^<]*<\/string>/, random.chance(0.5) ? '<string>&e;</string>' : '<string>&x;</string>')
      break
    }
    case 3: {
      const depth = random.pick([100, 600, 5000, 50_000])
      const open = random.chance(0.5) ? '<array>' : '<dict><key>k</key>'
      const close = open === '<array>' ? '</array>' : '</dict>'
      text = text.replace(/<\/dict>\s*<\/plist>/, `<key>deep</key>${open.repeat(depth)}${random.chance(0.8) ? close.repeat(depth) : ''}</dict></plist>`)
      break
    }
    case 4: {
      const values = [...text.matchAll(/<(string|integer|real|date|data|key)>([^<]*)</g)]
      if (values.length > 0) {
        const value = random.pick(values)
        const start = value.index + value[1]!.length + 2
        text = text.slice(0, start) + random.pick(ODD_VALUES) + text.slice(start + value[2]!.length)
      }
      break
    }
    case 5:
      // Wide, not huge: parsing takes ~10-16 ms per 1,000 keys, so a plist near the 16 MiB cap alone
      // needs ~4 s (a known finding, docs/reliability.md); 5,000 keys (twice in an .ipa with an
      // extension) stay well inside the 2 s budget on a busy CI machine.
      text = text.replace(/<\/dict>\s*<\/plist>/, `${'<key>k</key><string>v</string>'.repeat(random.pick([1, 500, 5_000]))}</dict></plist>`)
      break
    case 6: {
      const at = random.int(text.length + 1)
      text = text.slice(0, at) + random.pick(['<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>', '\xff\xfe', '\xc3\x28', '<', '&', '\u0000']) + text.slice(at)
      break
    }
    default:
      text = text.replace(/<key>([^<]*)<\/key>/, '<key>$1</key><key>$1</key>')
  }
  return Buffer.from(text, 'latin1')
}
