/**
 * LZVN decoder: the LZ77 codec inside LZFSE's `bvxn` blocks (Apple uses it for small inputs), so
 * Assets.car renditions with a short last chunk decode too. Byte-oriented, no entropy coding.
 */

/** Malformed or oversized LZFSE/LZVN data. */
export class LzfseError extends Error {
  override name = 'LzfseError'
}

function fail(message: string): never {
  throw new LzfseError(message)
}

/**
 * Decodes an LZVN payload src[p, pEnd) into dst[out, outEnd), which it must fill exactly.
 * Opcodes as in Apple's reference lzvn_decode_base.c; D carries over between opcodes.
 */
export function decodeLzvn(src: Uint8Array, p: number, pEnd: number, dst: Uint8Array, out: number, outEnd: number): void {
  let d = 0
  for (;;) {
    if (p >= pEnd) fail('truncated LZVN stream')
    const op = src[p]!
    let l = 0
    let m = 0
    let len = 1
    if (op === 6) {
      if (p + 8 !== pEnd || out !== outEnd) fail('LZVN stream ends at the wrong place')
      return
    } else if (op === 14 || op === 22) {
      // nop
    } else if (op >= 0xf0) {
      len = op === 0xf0 ? 2 : 1
      m = op === 0xf0 ? (src[p + 1] ?? 0) + 16 : op & 0xf
    } else if (op >= 0xe0) {
      len = op === 0xe0 ? 2 : 1
      l = op === 0xe0 ? (src[p + 1] ?? 0) + 16 : op & 0xf
    } else if ((op >= 0x70 && op < 0x80) || (op >= 0xd0 && op < 0xe0) || (op < 64 && (op & 7) === 6)) {
      fail(`undefined LZVN opcode ${op}`)
    } else if (op >= 0xa0 && op < 0xc0) {
      // medium distance: 101LLMMM DDDDDDMM DDDDDDDD
      const b = (src[p + 1] ?? 0) | ((src[p + 2] ?? 0) << 8)
      len = 3
      l = (op >> 3) & 3
      m = (((op & 7) << 2) | (b & 3)) + 3
      d = b >> 2
    } else {
      // LLMMMDDD: small distance (1 more byte), 111 = large (2 bytes), 110 = previous distance
      l = op >> 6
      m = ((op >> 3) & 7) + 3
      if ((op & 7) === 7) {
        len = 3
        d = (src[p + 1] ?? 0) | ((src[p + 2] ?? 0) << 8)
      } else if ((op & 7) !== 6) {
        len = 2
        d = ((op & 7) << 8) | (src[p + 1] ?? 0)
      }
    }
    // The payload must hold this opcode, its literal and at least the next opcode.
    if (p + len + l >= pEnd) fail('truncated LZVN stream')
    if (out + l + m > outEnd) fail('LZVN output exceeds its block')
    dst.set(src.subarray(p + len, p + len + l), out)
    p += len + l
    out += l
    if (m > 0 && (d <= 0 || d > out)) fail('LZVN match distance out of range')
    for (let j = 0; j < m; j++, out++) dst[out] = dst[out - d]!
  }
}
