/**
 * LZFSE decoder (Apple's compression: `bvx2` FSE-coded blocks, `bvxn` LZVN blocks, `bvx-` raw
 * blocks, `bvx$` end), needed because actool compresses Assets.car renditions with it and neither
 * Node nor a maintained npm package decodes it. Follows Apple's reference decoder
 * (github.com/lzfse/lzfse) using its 32-bit bit-stream variant, so every value fits a JS int.
 * Decode-only, bounded by the caller's `maxOutput`; any inconsistency throws `LzfseError`.
 * LZVN, the codec of `bvxn` blocks, is in lzvn.ts.
 */

import { LzfseError, decodeLzvn } from './lzvn.ts'

export { LzfseError }

function fail(message: string): never {
  throw new LzfseError(message)
}

const [L_SYMBOLS, M_SYMBOLS, D_SYMBOLS, LITERAL_SYMBOLS] = [20, 20, 64, 256]
const [L_STATES, M_STATES, D_STATES, LITERAL_STATES] = [64, 64, 256, 1024]
const MAX_MATCHES = 10_000
const MAX_LITERALS = 4 * MAX_MATCHES

const L_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 5, 8]
const L_BASE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 28, 60]
const M_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 8, 11]
const M_BASE = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 56, 312]
// D: four symbols per extra-bit count 0..15, each base following on from the previous range.
const D_EXTRA = Array.from({ length: D_SYMBOLS }, (_, i) => i >> 2)
const D_BASE = [0]
for (let i = 1; i < D_SYMBOLS; i++) D_BASE.push(D_BASE[i - 1]! + (1 << D_EXTRA[i - 1]!))

const mask = (n: number): number => (n === 0 ? 0 : 0xffffffff >>> (32 - n))

/** Backward bit reader (FSE streams are read from their end towards `start`). */
class BitIn {
  accum = 0
  bits = 0
  private readonly bytes: Uint8Array
  private readonly start: number
  private pos: number

  constructor(bytes: Uint8Array, start: number, end: number, finalBits: number) {
    this.bytes = bytes
    this.start = start
    const take = finalBits ? 4 : 3 // finalBits in [-7, 0]: unused high bits of the last byte
    this.pos = end - take
    if (this.pos < start) fail('FSE stream shorter than its header')
    for (let i = take - 1; i >= 0; i--) this.accum = ((this.accum << 8) | bytes[this.pos + i]!) >>> 0
    this.bits = take * 8 + finalBits
    if (this.bits < 24 || this.bits >= 32 || this.accum >>> this.bits !== 0) fail('bad FSE stream start')
  }

  /** Refills to 24..31 buffered bits. */
  flush(): void {
    const n = (31 - this.bits) & ~7
    if (n === 0) return
    const count = n >> 3
    this.pos -= count
    if (this.pos < this.start) fail('FSE stream overrun')
    let incoming = 0
    for (let i = count - 1; i >= 0; i--) incoming = (incoming << 8) | this.bytes[this.pos + i]!
    this.accum = ((this.accum << n) | incoming) >>> 0
    this.bits += n
  }

  pull(n: number): number {
    if (n > this.bits) fail('FSE stream underrun')
    this.bits -= n
    const result = this.accum >>> this.bits
    this.accum = (this.accum & mask(this.bits)) >>> 0
    return result
  }
}

/** FSE decoding table: per state, bits to read, symbol (or value base) and next-state delta. */
interface Table {
  k: Uint8Array
  valueBits: Uint8Array
  delta: Int32Array
  base: Int32Array
}

function buildTable(states: number, freq: Uint16Array, from: number, symbols: number, extra?: number[], base?: number[]): Table {
  const t: Table = { k: new Uint8Array(states), valueBits: new Uint8Array(states), delta: new Int32Array(states), base: new Int32Array(states) }
  let s = 0
  for (let i = 0; i < symbols; i++) {
    const f = freq[from + i]!
    if (f === 0) continue
    if (s + f > states) fail('FSE frequencies exceed the state count')
    const k = Math.clz32(f) - Math.clz32(states)
    const j0 = ((2 * states) >> k) - f
    for (let j = 0; j < f; j++, s++) {
      const bits = j < j0 ? k : k - 1
      t.delta[s] = j < j0 ? ((f + j) << k) - states : (j - j0) << (k - 1)
      t.valueBits[s] = extra ? extra[i]! : 0
      t.k[s] = bits + t.valueBits[s]!
      t.base[s] = base ? base[i]! : i
    }
  }
  return t
}

/** Decodes one value and advances `state[index]`. */
function decodeValue(t: Table, state: Uint16Array, index: number, input: BitIn): number {
  const s = state[index]!
  if (s >= t.k.length) fail('FSE state out of range')
  const vb = t.valueBits[s]!
  const bits = input.pull(t.k[s]!)
  state[index] = t.delta[s]! + (bits >>> vb)
  return t.base[s]! + (bits & mask(vb))
}

// The frequency tables of a bvx2 header use a small prefix code (values 0-7 in 2-5 bits, larger
// values in 8 or 14 bits), indexed by the next 5 bits.
const FREQ_BITS = [2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14, 2, 3, 2, 5, 2, 3, 2, 8, 2, 3, 2, 5, 2, 3, 2, 14]
const FREQ_VALUE = [0, 2, 1, 4, 0, 3, 1, -1, 0, 2, 1, 5, 0, 3, 1, -1, 0, 2, 1, 6, 0, 3, 1, -1, 0, 2, 1, 7, 0, 3, 1, -1]

function readFrequencies(src: Uint8Array, from: number, end: number): Uint16Array {
  const freq = new Uint16Array(L_SYMBOLS + M_SYMBOLS + D_SYMBOLS + LITERAL_SYMBOLS)
  if (from === end) return freq
  let accum = 0
  let bits = 0
  let p = from
  for (let i = 0; i < freq.length; i++) {
    while (p < end && bits + 8 <= 32) {
      accum = (accum | (src[p++]! << bits)) >>> 0
      bits += 8
    }
    const n = FREQ_BITS[accum & 31]!
    freq[i] = n === 8 ? 8 + ((accum >>> 4) & 0xf) : n === 14 ? 24 + ((accum >>> 4) & 0x3ff) : FREQ_VALUE[accum & 31]!
    if (n > bits) fail('truncated LZFSE frequency table')
    accum >>>= n
    bits -= n
  }
  if (bits >= 8 || p !== end) fail('bad LZFSE frequency table size')
  return freq
}

const u32 = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
/** Bits [offset, offset + n) of the little-endian 64-bit word at `p`, n ≤ 20 (JS has no u64). */
function field(b: Uint8Array, p: number, offset: number, n: number): number {
  const lo = u32(b, p)
  const hi = u32(b, p + 4)
  if (offset >= 32) return (hi >>> (offset - 32)) & mask(n)
  const lowBits = 32 - offset
  if (n <= lowBits) return (lo >>> offset) & mask(n)
  return (lo >>> offset) + (hi & mask(n - lowBits)) * 2 ** lowBits
}

/** Decodes a bvx2 block starting at `p` into `dst` at `out`; returns [next p, next out]. */
function decodeV2(src: Uint8Array, p: number, dst: Uint8Array, out: number): [number, number] {
  if (p + 32 > src.length) fail('truncated LZFSE block header')
  const rawBytes = u32(src, p + 4)
  const f0 = p + 8
  const nLiterals = field(src, f0, 0, 20)
  const literalPayload = field(src, f0, 20, 20)
  const nMatches = field(src, f0, 40, 20)
  const literalBits = field(src, f0, 60, 3) - 7
  const literalState = Uint16Array.of(field(src, f0 + 8, 0, 10), field(src, f0 + 8, 10, 10), field(src, f0 + 8, 20, 10), field(src, f0 + 8, 30, 10))
  const lmdPayload = field(src, f0 + 8, 40, 20)
  const lmdBits = field(src, f0 + 8, 60, 3) - 7
  const headerSize = u32(src, f0 + 16)
  const lmdState = Uint16Array.of(field(src, f0 + 16, 32, 10), field(src, f0 + 16, 42, 10), field(src, f0 + 16, 52, 10))
  const payload = p + headerSize
  const blockEnd = payload + literalPayload + lmdPayload
  if (headerSize < 32 || blockEnd > src.length) fail('truncated LZFSE block')
  if (nLiterals > MAX_LITERALS || nLiterals % 4 !== 0 || nMatches > MAX_MATCHES) fail('bad LZFSE block counts')
  if (literalState.some((s) => s >= LITERAL_STATES) || lmdState[0]! >= L_STATES || lmdState[1]! >= M_STATES || lmdState[2]! >= D_STATES) {
    fail('bad LZFSE initial state')
  }
  if (out + rawBytes > dst.length) fail('LZFSE output exceeds the expected size')

  const freq = readFrequencies(src, p + 32, payload)
  const lTable = buildTable(L_STATES, freq, 0, L_SYMBOLS, L_EXTRA, L_BASE)
  const mTable = buildTable(M_STATES, freq, L_SYMBOLS, M_SYMBOLS, M_EXTRA, M_BASE)
  const dTable = buildTable(D_STATES, freq, L_SYMBOLS + M_SYMBOLS, D_SYMBOLS, D_EXTRA, D_BASE)
  const litTable = buildTable(LITERAL_STATES, freq, L_SYMBOLS + M_SYMBOLS + D_SYMBOLS, LITERAL_SYMBOLS)

  // Literals: four interleaved FSE streams, read backwards from the end of the literal payload.
  const literals = new Uint8Array(nLiterals)
  const litIn = new BitIn(src, p, payload + literalPayload, literalBits)
  for (let i = 0; i < nLiterals; i += 4) {
    litIn.flush()
    literals[i] = decodeValue(litTable, literalState, 0, litIn)
    literals[i + 1] = decodeValue(litTable, literalState, 1, litIn)
    litIn.flush()
    literals[i + 2] = decodeValue(litTable, literalState, 2, litIn)
    literals[i + 3] = decodeValue(litTable, literalState, 3, litIn)
  }

  // Then (literal length, match length, distance) triples, each an FSE symbol plus extra bits.
  const lmdIn = new BitIn(src, payload + literalPayload, blockEnd, lmdBits)
  const end = out + rawBytes
  let lit = 0
  let d = -1
  for (let i = 0; i < nMatches; i++) {
    lmdIn.flush()
    const l = decodeValue(lTable, lmdState, 0, lmdIn)
    lmdIn.flush()
    const m = decodeValue(mTable, lmdState, 1, lmdIn)
    lmdIn.flush()
    const newD = decodeValue(dTable, lmdState, 2, lmdIn)
    if (newD !== 0) d = newD
    if (lit + l > nLiterals || out + l + m > end) fail('LZFSE match overruns its block')
    if (d <= 0 || d > out + l) fail('LZFSE match distance out of range')
    dst.set(literals.subarray(lit, lit + l), out)
    lit += l
    out += l
    for (let j = 0; j < m; j++, out++) dst[out] = dst[out - d]!
  }
  if (out !== end) fail('LZFSE block decodes to a different size than declared')
  return [blockEnd, out]
}

/**
 * Decodes a complete LZFSE stream. Output is capped at `maxOutput` bytes (allocated up front, so
 * the caller picks a cap it can afford); more output, or a stream without `bvx$`, throws.
 */
export function lzfseDecode(src: Uint8Array, maxOutput: number): Uint8Array {
  const dst = new Uint8Array(maxOutput)
  let p = 0
  let out = 0
  for (;;) {
    if (p + 4 > src.length) fail('LZFSE stream has no end marker')
    const magic = String.fromCharCode(src[p]!, src[p + 1]!, src[p + 2]!, src[p + 3]!)
    if (magic === 'bvx$') return dst.subarray(0, out)
    if (magic === 'bvx2') {
      ;[p, out] = decodeV2(src, p, dst, out)
    } else if (magic === 'bvxn' || magic === 'bvx-') {
      const header = magic === 'bvxn' ? 12 : 8
      if (p + header > src.length) fail('truncated LZFSE block header')
      const raw = u32(src, p + 4)
      const payload = magic === 'bvxn' ? u32(src, p + 8) : raw
      if (p + header + payload > src.length) fail('truncated LZFSE block')
      if (out + raw > dst.length) fail('LZFSE output exceeds the expected size')
      if (magic === 'bvxn') decodeLzvn(src, p + header, p + header + payload, dst, out, out + raw)
      else dst.set(src.subarray(p + header, p + header + raw), out)
      p += header + payload
      out += raw
    } else {
      fail(`unsupported LZFSE block ${JSON.stringify(magic)}`)
    }
  }
}
