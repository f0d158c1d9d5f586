// The QR SVG is read back module by module, compared with qrcode's own matrix, rasterised and
// decoded with jsQR: the payload a phone camera sees must be the text we encoded.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import jsqr from 'jsqr'
import { create } from 'qrcode'
import { qrCodeSvg } from '../../src/ota/qr-code.ts'

// jsqr is CommonJS with an `exports.default`: under nodenext TypeScript types the default import as
// the module object, while Node hands over module.exports (the function, which also has .default).
const jsQR = jsqr.default

/** Reads qrcode's SVG path ("M x y.5 h n m dx 0 h n …") back into a grid of dark modules. */
function svgModules(svg: string): { size: number; dark: boolean[][] } {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg)
  assert.ok(viewBox && viewBox[1] === viewBox[2], 'square viewBox')
  const size = Number(viewBox[1])
  const dark = Array.from({ length: size }, () => Array<boolean>(size).fill(false))
  const path = /<path [^>]*stroke="#000000"[^>]*d="([^"]*)"/.exec(svg)?.[1]
  assert.ok(path, 'dark path present')
  let x = 0
  let y = 0
  for (const [, command, a, b] of path.matchAll(/([MmHhVv])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    const first = Number(a)
    if (command === 'M') [x, y] = [first, Number(b) - 0.5]
    else if (command === 'm') [x, y] = [x + first, y + Number(b)]
    else if (command === 'h') {
      for (let i = 0; i < first; i++) dark[y]![x + i] = true
      x += first
    } else assert.fail(`unexpected path command ${command}`)
  }
  return { size, dark }
}

function rasterise(dark: boolean[][], scale = 6): { data: Uint8ClampedArray; width: number } {
  const width = dark.length * scale
  const data = new Uint8ClampedArray(width * width * 4).fill(255)
  dark.forEach((row, y) => row.forEach((on, x) => {
    if (!on) return
    for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
      const offset = ((y * scale + dy) * width + x * scale + dx) * 4
      data[offset] = data[offset + 1] = data[offset + 2] = 0
    }
  }))
  return { data, width }
}

const PAYLOADS = [
  'https://ota.example.com/i/bld_8Kx2Qz',
  'https://example.com/ota/i/Zm9vYmFyLWJhei1xdXV4LTEyMzQ1Njc4OTA?ref=mail&x=1',
  'itms-services://?action=download-manifest&url=https%3A%2F%2Fota.example.com%2Fm%2Ft%2Fmanifest.plist',
]

for (const text of PAYLOADS) {
  test(`qrCodeSvg encodes exactly ${text.slice(0, 40)}…`, async () => {
    const svg = await qrCodeSvg(text)
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.endsWith('</svg>'), 'a bare inline <svg> element')
    const { size, dark } = svgModules(svg)

    const reference = create(text, { errorCorrectionLevel: 'M' })
    const n = reference.modules.size
    assert.equal(size, n + 4, '2-module quiet zone on each side')
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const inside = x >= 2 && y >= 2 && x < n + 2 && y < n + 2
      assert.equal(dark[y]?.[x], inside ? reference.modules.get(y - 2, x - 2) === 1 : false, `module ${x},${y}`)
    }

    const { data, width } = rasterise(dark)
    const decoded = jsQR(data, width, width)
    assert.equal(decoded?.data, text)
  })
}

test('the module comparison pins error correction M: level H differs in its format bits', () => {
  const text = 'https://ota.example.com/i/abc'
  const m = create(text, { errorCorrectionLevel: 'M' }).modules
  const h = create(text, { errorCorrectionLevel: 'H' }).modules
  const formatBits = (modules: typeof m) => Array.from({ length: 9 }, (_, x) => modules.get(8, x)).join('')
  assert.notEqual(formatBits(m), formatBits(h))
})
