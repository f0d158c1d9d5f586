import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import yauzl from 'yauzl'
import { lzfseDecode, LzfseError } from '../../src/ipa/lzfse.ts'

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return b
}

/** An LZFSE stream of one LZVN block (payload must end with the 8-byte eos opcode). */
function lzvnStream(rawBytes: number, payload: number[]): Buffer {
  return Buffer.concat([Buffer.from('bvxn'), u32le(rawBytes), u32le(payload.length), Buffer.from(payload), Buffer.from('bvx$')])
}

const EOS = [0x06, 0, 0, 0, 0, 0, 0, 0]

async function assetsCar(ipa: string): Promise<Buffer> {
  const zip = await yauzl.fromBufferPromise(readFileSync(new URL(`../fixtures/ipa/${ipa}`, import.meta.url)), { lazyEntries: true })
  for await (const entry of zip.eachEntry()) {
    if (!/^Payload\/[^/]+\.app\/Assets\.car$/.test(entry.fileName)) continue
    const parts: Buffer[] = []
    for await (const part of await zip.openReadStreamPromise(entry)) parts.push(part as Buffer)
    zip.close()
    return Buffer.concat(parts)
  }
  throw new Error(`${ipa} has no Assets.car`)
}

/** Every KCBC chunk of every LZFSE-compressed ("MLEC", compression 4) rendition in a .car file. */
function lzfseRenditions(car: Buffer): Array<Array<{ rows: number; payload: Buffer }>> {
  const renditions = []
  for (let at = car.indexOf('MLEC'); at !== -1; at = car.indexOf('MLEC', at + 4)) {
    if (car.readUInt32LE(at + 8) !== 4 || car.toString('latin1', at + 16, at + 20) !== 'KCBC') continue
    const chunks = []
    let p = at + 16
    for (let i = car.readUInt32LE(at + 12); i > 0; i--) {
      const length = car.readUInt32LE(p + 16)
      chunks.push({ rows: car.readUInt32LE(p + 12), payload: car.subarray(p + 20, p + 20 + length) })
      p += 20 + length
    }
    renditions.push(chunks)
  }
  return renditions
}

describe('lzfseDecode', () => {
  test('raw (bvx-) blocks and the end marker', () => {
    const stream = Buffer.concat([Buffer.from('bvx-'), u32le(3), Buffer.from('abc'), Buffer.from('bvx-'), u32le(2), Buffer.from('de'), Buffer.from('bvx$')])
    assert.equal(Buffer.from(lzfseDecode(stream, 100)).toString(), 'abcde')
    assert.equal(lzfseDecode(Buffer.from('bvx$'), 0).length, 0)
  })

  test('LZVN opcodes: literal, small-distance match, previous-distance match', () => {
    // e3 "abc" = 3-byte literal; 18 03 = match of 6 at distance 3; 46 "z" = 1 literal + match of 3 at the same distance.
    const stream = lzvnStream(13, [0xe3, 0x61, 0x62, 0x63, 0x18, 0x03, 0x46, 0x7a, ...EOS])
    assert.equal(Buffer.from(lzfseDecode(stream, 13)).toString(), 'abcabcabczbcz')
  })

  test('real Assets.car renditions (bvx2 and bvxn blocks) decode to whole rows', async () => {
    let blocks = 0
    for (const ipa of ['ipaserver-ipa.ipa', 'bitbar-BitBarSampleApp.ipa', 'bitbar-sample-latest-iOS.ipa']) {
      const renditions = lzfseRenditions(await assetsCar(ipa))
      assert.ok(renditions.length > 0, ipa)
      for (const chunks of renditions) {
        const rowBytes = new Set<number>()
        for (const { rows, payload } of chunks) {
          const decoded = lzfseDecode(payload, 8 * 1024 * 1024)
          assert.equal(decoded.length % rows, 0, `${ipa}: chunk of ${rows} rows decodes to ${decoded.length} bytes`)
          rowBytes.add(decoded.length / rows)
          blocks++
        }
        assert.equal(rowBytes.size, 1, `${ipa}: every chunk of a rendition has the same row size`)
        const [bytesPerRow] = rowBytes
        assert.equal(bytesPerRow! % 32, 0, 'CoreUI pads rows to 32 bytes')
      }
    }
    assert.ok(blocks >= 30)
  })

  test('hostile streams throw LzfseError', () => {
    const good = lzvnStream(13, [0xe3, 0x61, 0x62, 0x63, 0x18, 0x03, 0x46, 0x7a, ...EOS])
    const cases: Array<[string, Buffer, number]> = [
      ['no end marker', good.subarray(0, good.length - 4), 100],
      ['truncated block', good.subarray(0, 20), 100],
      ['output above the cap', good, 12],
      ['unknown block', Buffer.from('bvx9\0\0\0\0bvx$'), 100],
      ['distance before the start', lzvnStream(6, [0xe1, 0x61, 0x18, 0x05, ...EOS]), 100],
      ['undefined opcode', lzvnStream(1, [0x70, ...EOS]), 100],
      ['raw block longer than the data', Buffer.concat([Buffer.from('bvx-'), u32le(1000), Buffer.from('abc')]), 2000],
      ['size mismatch', lzvnStream(20, [0xe3, 0x61, 0x62, 0x63, ...EOS]), 100],
    ]
    for (const [name, stream, cap] of cases) assert.throws(() => lzfseDecode(stream, cap), LzfseError, name)
  })

  test('damaged bvx2 blocks throw LzfseError', async () => {
    const [chunks] = lzfseRenditions(await assetsCar('ipaserver-ipa.ipa'))
    const payload = Buffer.from(chunks![0]!.payload)
    assert.throws(() => lzfseDecode(payload.subarray(0, payload.length / 2), 1 << 20), LzfseError)
    assert.throws(() => lzfseDecode(payload, 1000), LzfseError, 'output above the cap')
    for (const at of [4, 24, 40]) { // declared size, header size, frequency table (no checksum: not every flip is detectable)
      const damaged = Buffer.from(payload)
      damaged[at] = damaged[at]! ^ 0xff
      assert.throws(() => lzfseDecode(damaged, 1 << 20), LzfseError, `byte ${at} flipped`)
    }
  })
})
