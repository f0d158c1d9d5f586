import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { deflateRawSync, deflateSync } from 'node:zlib'
import pngjs from 'pngjs'
import yauzl from 'yauzl'
import { isAirstripError, type ErrorCode } from '../../src/errors.ts'
import { LIMITS } from '../../src/ipa/limits.ts'
import { normalizePng, readPngSize } from '../../src/ipa/png.ts'
import { cgbiAsPlainPng, cgbiFile, crushPng, filterRow, ihdrData, PNG_SIGNATURE, pngChunk, premultiply } from '../support/cgbi.ts'

const { PNG } = pngjs

function fixture(path: string): Buffer {
  return readFileSync(new URL(`../fixtures/${path}`, import.meta.url))
}

/** Every entry of a zip whose name matches, read whole (fixtures are small). */
async function zipEntries(path: string, match: RegExp): Promise<Map<string, Buffer>> {
  const zip = await yauzl.fromBufferPromise(fixture(path), { lazyEntries: true })
  const found = new Map<string, Buffer>()
  for await (const entry of zip.eachEntry()) {
    if (!match.test(entry.fileName)) continue
    const parts: Buffer[] = []
    for await (const part of await zip.openReadStreamPromise(entry)) parts.push(part as Buffer)
    found.set(entry.fileName, Buffer.concat(parts))
  }
  zip.close()
  return found
}

/** pngdefry's un-premultiply, (c × 255 + a / 2) / a, clamped: the oracle for real fixtures. */
function pngdefryChannel(c: number, a: number): number {
  return Math.min(255, Math.floor((c * 255 + (a >> 1)) / a))
}

/**
 * Independent decode of a CgBI file: re-wrap its deflate stream in zlib so pngjs un-filters it,
 * then swap BGRA → RGBA and un-premultiply the way pngdefry does.
 */
function referenceDecode(cgbi: Buffer): { width: number; height: number; data: Buffer } {
  const { width, height, data } = PNG.sync.read(cgbiAsPlainPng(cgbi))
  const out = Buffer.alloc(data.length)
  for (let i = 0; i < data.length; i += 4) {
    const a = data[i + 3]!
    if (a === 0) continue
    out[i] = pngdefryChannel(data[i + 2]!, a)
    out[i + 1] = pngdefryChannel(data[i + 1]!, a)
    out[i + 2] = pngdefryChannel(data[i]!, a)
    out[i + 3] = a
  }
  return { width, height, data: out }
}

/** Asserts `fn` throws an AirstripError with `code`, and does so quickly (no big allocation). */
function assertRefused(fn: () => unknown, code: ErrorCode): void {
  const started = performance.now()
  assert.throws(fn, (error: unknown) => isAirstripError(error, code) || assert.fail(`expected ${code}, got ${String(error)}`))
  const elapsed = performance.now() - started
  assert.ok(elapsed < 1000, `refusal took ${Math.round(elapsed)} ms`)
}

describe('normalizePng: CgBI round trip', () => {
  const width = 37
  const height = 13 // every filter type (row y uses y % 5) appears at least twice
  const alphas = [255, 0, 1, 2, 127, 128, 200, 254, 255, 64]
  let seed = 42
  const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff

  const rgba = Buffer.alloc(width * height * 4)
  for (let p = 0; p < width * height; p++) {
    const a = alphas[p % alphas.length]!
    rgba.set([random(), random(), p % 7 === 0 ? 255 : random(), a], p * 4)
  }

  test('restores straight RGBA within the error premultiplication introduces', () => {
    const crushed = crushPng(rgba, width, height)
    assert.deepEqual(readPngSize(crushed), { width, height, isCgbi: true })

    const result = normalizePng(crushed)
    assert.equal(result.wasCgbi, true)
    assert.equal(result.width, width)
    assert.equal(result.height, height)
    assert.deepEqual(result.png.subarray(0, 8), PNG_SIGNATURE)
    assert.equal(readPngSize(result.png).isCgbi, false)

    const decoded = PNG.sync.read(result.png)
    assert.equal(decoded.width, width)
    assert.equal(decoded.height, height)
    for (let i = 0; i < rgba.length; i += 4) {
      const a = rgba[i + 3]!
      const got = [...decoded.data.subarray(i, i + 4)]
      if (a === 0) {
        assert.deepEqual(got, [0, 0, 0, 0], `pixel ${i / 4} (transparent)`)
        continue
      }
      // Premultiplying to 8 bits loses precision; the best any decoder can do is the round trip.
      const expected = [0, 1, 2].map((k) => Math.min(255, Math.round((premultiply(rgba[i + k]!, a) * 255) / a)))
      if (a === 255) assert.deepEqual(expected, [...rgba.subarray(i, i + 3)])
      assert.deepEqual(got, [...expected, a], `pixel ${i / 4} (alpha ${a})`)
    }
    // The normalized output is stable: a second pass leaves it untouched.
    assert.equal(normalizePng(result.png).png, result.png)
  })

  test('clamps a premultiplied channel above alpha instead of wrapping', () => {
    const line = Uint8Array.of(200, 10, 90, 100) // BGRA: blue 200 > alpha 100
    const file = cgbiFile(ihdrData(1, 1), [deflateRawSync(filterRow(0, line, null))])
    assert.deepEqual([...PNG.sync.read(normalizePng(file).png).data], [230, 26, 255, 100])
  })
})

describe('normalizePng: real CgBI fixtures (pngdefry)', () => {
  for (const [name, size] of [['pngdefry-40@2x.png', 80], ['pngdefry-60@2x.png', 120]] as const) {
    test(name, () => {
      const bytes = fixture(`misc/${name}`)
      assert.deepEqual(readPngSize(bytes), { width: size, height: size, isCgbi: true })
      const result = normalizePng(bytes)
      assert.equal(result.wasCgbi, true)
      assert.equal(result.width, size)
      assert.equal(result.height, size)

      const decoded = PNG.sync.read(result.png)
      assert.equal(decoded.width, size)
      assert.equal(decoded.height, size)
      const pixels = new Set<number>()
      for (let i = 0; i < decoded.data.length; i += 4) pixels.add(decoded.data.readUInt32BE(i))
      assert.ok(pixels.size > 10, 'image is not a flat colour')

      const reference = referenceDecode(bytes)
      let opaque = 0
      for (let i = 0; i < reference.data.length; i += 4) if (reference.data[i + 3] === 255) opaque++
      assert.ok(opaque > 0, 'fixture has opaque pixels')
      assert.ok(decoded.data.equals(reference.data), 'pixels match pngdefry-style conversion')
    })
  }
})

describe('normalizePng: icons inside real .ipa fixtures', () => {
  const cases = [
    ['appinfo-ipad.ipa', 7],
    ['lagunitas-Sample.ipa', 4],
    ['calabash-CalSmoke.ipa', 20],
    ['bitbar-sample-latest-iOS.ipa', 2],
    ['bitbar-BitBarSampleApp.ipa', 2],
  ] as const
  for (const [ipa, count] of cases) {
    test(ipa, async () => {
      const icons = await zipEntries(`ipa/${ipa}`, /^Payload\/[^/]+\.app\/AppIcon[^/]*\.png$/)
      assert.equal(icons.size, count)
      for (const [path, bytes] of icons) {
        const header = readPngSize(bytes)
        assert.equal(header.isCgbi, true, path)
        const result = normalizePng(bytes)
        assert.equal(result.wasCgbi, true, path)
        assert.deepEqual([result.width, result.height], [header.width, header.height], path)
        const decoded = PNG.sync.read(result.png)
        assert.ok(decoded.data.equals(referenceDecode(bytes).data), `${path} matches the reference decode`)
      }
    })
  }

  test('the largest CalSmoke icon is AppIcon60x60@3x (180x180)', async () => {
    const icons = await zipEntries('ipa/calabash-CalSmoke.ipa', /\.app\/AppIcon[^/]*\.png$/)
    const sized = [...icons].map(([path, bytes]) => ({ path, ...readPngSize(bytes) }))
    const largest = sized.reduce((best, icon) => (icon.width * icon.height > best.width * best.height ? icon : best))
    assert.equal(largest.path, 'Payload/CalSmoke.app/AppIcon60x60@3x.png')
    assert.equal(largest.width, 180)
  })

  test('ordinary PNGs pass through byte-for-byte', async () => {
    const plain = [
      ...(await zipEntries('ipa/lagunitas-Sample.ipa', /LaunchImage-700-568h@2x\.png$/)).values(),
      ...(await zipEntries('ipa/bitbar-BitBarSampleApp.ipa', /(bitbar_logo|back-icon-mask)\.png$/)).values(),
    ]
    assert.equal(plain.length, 3)
    for (const bytes of plain) {
      const result = normalizePng(bytes)
      assert.equal(result.wasCgbi, false)
      assert.equal(result.png, bytes, 'same Buffer, unchanged')
      assert.deepEqual([result.width, result.height], [PNG.sync.read(bytes).width, PNG.sync.read(bytes).height])
    }
    const copy = new Uint8Array(plain[0]!)
    assert.ok(Buffer.from(copy).equals(normalizePng(copy).png))
  })
})

describe('normalizePng: hostile input', () => {
  const crushed = crushPng(Buffer.alloc(8 * 8 * 4, 0x80), 8, 8)
  const rows = (width: number, height: number, filter = 0): Buffer =>
    Buffer.concat(Array.from({ length: height }, () => filterRow(filter, new Uint8Array(width * 4), null)))

  test('truncated files', () => {
    for (const cut of [4, 8, 20, 40, crushed.length - 20, crushed.length - 1]) {
      assertRefused(() => normalizePng(crushed.subarray(0, cut)), 'invalid-png')
    }
    assertRefused(() => readPngSize(crushed.subarray(0, 30)), 'invalid-png')
    const plain = PNG.sync.write(new PNG({ width: 4, height: 4 }))
    assertRefused(() => normalizePng(plain.subarray(0, plain.length - 16)), 'invalid-png')
  })

  test('wrong signature', () => {
    const bad = Buffer.from(crushed)
    bad[1] = 0x51
    assertRefused(() => readPngSize(bad), 'invalid-png')
    assertRefused(() => normalizePng(bad), 'invalid-png')
    assertRefused(() => normalizePng(Buffer.from('GIF89a, not a png at all')), 'invalid-png')
  })

  test('IHDR claiming 100000x100000', () => {
    const huge = cgbiFile(ihdrData(100_000, 100_000), [deflateRawSync(rows(1, 1))])
    assertRefused(() => readPngSize(huge), 'entry-too-large')
    assertRefused(() => normalizePng(huge), 'entry-too-large')
    const hugePlain = cgbiFile(ihdrData(100_000, 100_000), [deflateSync(rows(1, 1))], { cgbi: false })
    assertRefused(() => normalizePng(hugePlain), 'entry-too-large')
    const justOver = cgbiFile(ihdrData(LIMITS.iconPixels + 1, 1), [deflateRawSync(rows(1, 1))])
    assertRefused(() => normalizePng(justOver), 'entry-too-large')
    assertRefused(() => normalizePng(cgbiFile(ihdrData(0, 16), [])), 'invalid-png')
  })

  test('IDAT that inflates to more than declared (bomb)', () => {
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024))
    assertRefused(() => normalizePng(cgbiFile(ihdrData(16, 16), [bomb])), 'invalid-png')
    const zlibBomb = deflateSync(Buffer.alloc(64 * 1024 * 1024))
    assertRefused(() => normalizePng(cgbiFile(ihdrData(16, 16, 8, 6, 1), [zlibBomb], { cgbi: false })), 'invalid-png')
    assertRefused(() => normalizePng(cgbiFile(ihdrData(16, 16), [zlibBomb], { cgbi: false })), 'invalid-png')
  })

  test('IDAT that inflates to less than declared', () => {
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8), [deflateRawSync(rows(8, 7))])), 'invalid-png')
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8), [Buffer.from('not deflate at all')])), 'invalid-png')
  })

  test('bad filter type byte', () => {
    const data = rows(8, 8)
    data[3 * (1 + 8 * 4)] = 5
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8), [deflateRawSync(data)])), 'invalid-png')
  })

  test('missing IDAT, misplaced IHDR, chunk past the end', () => {
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8), [])), 'invalid-png')
    const noIhdr = Buffer.concat([PNG_SIGNATURE, pngChunk('CgBI', Buffer.alloc(4)), pngChunk('IEND')])
    assertRefused(() => readPngSize(noIhdr), 'invalid-png')
    const overlong = Buffer.from(crushed)
    overlong.writeUInt32BE(0xfffffff0, 8 + 16 + 25) // the first IDAT's length
    assertRefused(() => normalizePng(overlong), 'invalid-png')
  })

  test('CgBI that is not 8-bit RGBA', () => {
    const idat = [deflateRawSync(rows(8, 8))]
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8, 16, 6), idat)), 'invalid-png')
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8, 8, 2), idat)), 'invalid-png')
    assertRefused(() => normalizePng(cgbiFile(ihdrData(8, 8, 8, 6, 1), idat)), 'invalid-png')
    assert.throws(() => normalizePng(cgbiFile(ihdrData(8, 8, 8, 2), idat)), /colour type 2/)
  })
})
