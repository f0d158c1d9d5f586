import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import pngjs from 'pngjs'
import yauzl from 'yauzl'
import { readAssetsCarIcon } from '../../src/ipa/assets-car.ts'
import { normalizePng } from '../../src/ipa/png.ts'

const { PNG } = pngjs

/** One entry of a fixture .ipa, or undefined. */
async function ipaEntry(ipa: string, match: RegExp): Promise<Buffer | undefined> {
  const zip = await yauzl.fromBufferPromise(readFileSync(new URL(`../fixtures/ipa/${ipa}`, import.meta.url)), { lazyEntries: true })
  for await (const entry of zip.eachEntry()) {
    if (!match.test(entry.fileName)) continue
    const parts: Buffer[] = []
    for await (const part of await zip.openReadStreamPromise(entry)) parts.push(part as Buffer)
    zip.close()
    return Buffer.concat(parts)
  }
  return undefined
}

const CAR = /^Payload\/[^/]+\.app\/Assets\.car$/

function pixel(png: { width: number; data: Buffer }, x: number, y: number): number[] {
  const i = (y * png.width + x) * 4
  return [...png.data.subarray(i, i + 4)]
}

describe('readAssetsCarIcon', () => {
  const cases = [
    // ipa, expected size, a loose CgBI icon of the same artwork to compare colours with
    ['ipaserver-ipa.ipa', 180, undefined],
    ['bitbar-BitBarSampleApp.ipa', 180, /AppIcon60x60@2x\.png$/],
    ['bitbar-sample-latest-iOS.ipa', 1024, /AppIcon60x60@2x\.png$/],
  ] as const
  for (const [ipa, size, loose] of cases) {
    test(`${ipa}: ${size}x${size} AppIcon`, async () => {
      const car = await ipaEntry(ipa, CAR)
      assert.ok(car)
      const icon = readAssetsCarIcon(car)
      assert.ok(icon, 'icon found')
      assert.equal(icon.width, size)
      assert.equal(icon.height, size)
      const decoded = PNG.sync.read(icon.png)
      assert.equal(decoded.width, size)
      assert.equal(normalizePng(icon.png).wasCgbi, false, 'a standard PNG')
      const colours = new Set<number>()
      for (let i = 0; i < decoded.data.length; i += 4) colours.add(decoded.data.readUInt32BE(i))
      assert.ok(colours.size > 50, 'not a flat image')

      if (loose) {
        // Same artwork as the loose CgBI icon: the background colour must match (BGRA order right).
        const cgbi = await ipaEntry(ipa, loose)
        assert.ok(cgbi)
        const other = PNG.sync.read(normalizePng(cgbi).png)
        const [a, b] = [pixel(decoded, 2, 2), pixel(other, 2, 2)]
        a.forEach((channel, k) => assert.ok(Math.abs(channel - b[k]!) <= 3, `corner ${a} vs ${b}`))
      }
    })
  }

  test('Assets.car without an AppIcon asset → null', async () => {
    for (const ipa of ['lagunitas-Sample.ipa', 'calabash-CalSmoke.ipa']) {
      const car = await ipaEntry(ipa, CAR)
      assert.ok(car, ipa)
      assert.equal(readAssetsCarIcon(car), null, ipa)
    }
    const car = await ipaEntry('ipaserver-ipa.ipa', CAR)
    assert.equal(readAssetsCarIcon(car!, 'NoSuchIcon'), null)
  })

  test('an unsupported compression (smartbearIcon: CoreUI type 11) → null', async () => {
    const car = await ipaEntry('bitbar-sample-latest-iOS.ipa', CAR)
    assert.equal(readAssetsCarIcon(car!, 'smartbearIcon'), null)
  })

  test('garbage and truncated input → null, never a throw', async () => {
    const car = (await ipaEntry('ipaserver-ipa.ipa', CAR))!
    assert.equal(readAssetsCarIcon(new Uint8Array(0)), null)
    assert.equal(readAssetsCarIcon(Buffer.from('BOMStore but nothing else')), null)
    for (const cut of [8, 32, 100, 1000, car.length / 2]) assert.equal(readAssetsCarIcon(car.subarray(0, cut)), null, `cut at ${cut}`)
    let seed = 7
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
    for (let i = 0; i < 100; i++) {
      const damaged = Buffer.from(car)
      for (let k = 0; k < 4; k++) damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256)
      const icon = readAssetsCarIcon(damaged)
      if (icon) assert.equal(PNG.sync.read(icon.png).width, icon.width)
    }
  })
})
