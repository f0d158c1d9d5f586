/**
 * Format-blind mutations (what AFL calls havoc): bit flips, interesting integers, truncation,
 * deleted / duplicated / inserted ranges, splices with another input. Each returns a new buffer.
 */
import type { Random } from './random.ts'

export type Mutation = (input: Buffer, random: Random) => Buffer

/** Values that sit on the edges parsers get wrong: zero, sign bits, all-ones, powers of two. */
export const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff] as const
export const INTERESTING_64 = [0n, 1n, 0xffffffffn, 0x100000000n, 0x1fffffffffffffn, 0x20000000000000n, 0x7fffffffffffffffn, 0xffffffffffffffffn] as const

export const flipBits: Mutation = (input, random) => {
  const out = Buffer.from(input)
  if (out.length === 0) return out
  for (let n = random.between(1, 8); n > 0; n--) out[random.int(out.length)]! ^= 1 << random.int(8)
  return out
}

export const setInterestingInteger: Mutation = (input, random) => {
  const out = Buffer.from(input)
  const width = random.pick([1, 2, 4] as const)
  if (out.length < width) return out
  const at = random.int(out.length - width + 1)
  const value = random.pick(INTERESTING_32) % 2 ** (8 * width)
  const big = random.chance(0.5)
  if (width === 1) out[at] = value
  else if (width === 2) big ? out.writeUInt16BE(value, at) : out.writeUInt16LE(value, at)
  else big ? out.writeUInt32BE(value, at) : out.writeUInt32LE(value, at)
  return out
}

export const truncate: Mutation = (input, random) => input.subarray(0, random.int(input.length + 1))

export const deleteRange: Mutation = (input, random) => {
  if (input.length < 2) return input
  const start = random.int(input.length)
  const end = Math.min(input.length, start + random.between(1, Math.max(1, input.length >> 3)))
  return Buffer.concat([input.subarray(0, start), input.subarray(end)])
}

export const duplicateRange: Mutation = (input, random) => {
  if (input.length === 0) return input
  const start = random.int(input.length)
  const piece = input.subarray(start, start + random.between(1, 4096))
  const at = random.int(input.length + 1)
  const copies = random.chance(0.2) ? random.between(2, 64) : 1
  return Buffer.concat([input.subarray(0, at), ...Array.from({ length: copies }, () => piece), input.subarray(at)])
}

export const insertRandomBytes: Mutation = (input, random) => {
  const at = random.int(input.length + 1)
  return Buffer.concat([input.subarray(0, at), random.bytes(random.between(1, 64)), input.subarray(at)])
}

/** The most common havoc steps, applied 1–4 times in a row. */
export const HAVOC: readonly Mutation[] = [flipBits, flipBits, setInterestingInteger, setInterestingInteger, truncate, deleteRange, duplicateRange, insertRandomBytes]

export function havoc(input: Buffer, random: Random): Buffer {
  let out = input
  for (let n = random.between(1, 4); n > 0; n--) out = random.pick(HAVOC)(out, random)
  return out
}

/** Head of one input + tail of another (a crossover): mixes structures no single seed has. */
export function splice(a: Buffer, b: Buffer, random: Random): Buffer {
  return Buffer.concat([a.subarray(0, random.int(a.length + 1)), b.subarray(random.int(b.length + 1))])
}

/** Writes an unsigned integer of `width` bytes (1, 2, 4 or 8), little-endian unless `bigEndian`. */
export function writeUnsigned(out: Buffer, at: number, width: number, value: bigint, bigEndian = false): void {
  if (at < 0 || at + width > out.length) return
  const masked = BigInt.asUintN(width * 8, value)
  if (width === 8) bigEndian ? out.writeBigUInt64BE(masked, at) : out.writeBigUInt64LE(masked, at)
  else if (width === 4) bigEndian ? out.writeUInt32BE(Number(masked), at) : out.writeUInt32LE(Number(masked), at)
  else if (width === 2) bigEndian ? out.writeUInt16BE(Number(masked), at) : out.writeUInt16LE(Number(masked), at)
  else out[at] = Number(masked)
}

/** A value for a length or offset field: an edge value, or the current one nudged a little. */
export function interestingValue(random: Random, current: bigint, width: number, related: readonly number[] = []): bigint {
  const roll = random.int(4)
  if (roll === 0 && related.length > 0) return BigInt(random.pick(related)) + BigInt(random.between(-2, 2))
  if (roll === 1) return current + BigInt(random.between(-16, 16))
  if (width === 8 && random.chance(0.5)) return random.pick(INTERESTING_64)
  return BigInt(random.pick(INTERESTING_32))
}
