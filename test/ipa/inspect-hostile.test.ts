// Hostile and damaged archives: each gets its error code, quickly, and nothing crashes or hangs.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { inspectIpa } from '../../src/ipa/inspect.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa, writeZip } from '../support/ipa-builder.ts'
import { patchEntryName, patchEntrySizes, patchLocalHeaderOffset } from '../support/zip-patch.ts'

const NOW = new Date('2026-11-26T00:00:00Z')
const INFO = 'Payload/Example.app/Info.plist'

async function assertCode(path: string, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(inspectIpa(path, { now: NOW }), (error: Error & { code?: string }) => {
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`)
    if (message) assert.match(error.message, message)
    return true
  })
}

test('a zip bomb in Info.plist stops at the declared size', { timeout: 20_000 }, async (t) => {
  const path = join(tempDir(t), 'bomb.ipa')
  const huge = 64 * 1024 * 1024
  await writeZip(path, [{ name: INFO, stream: () => Readable.from(zeros(huge)), size: huge }])
  assert.ok(readFileSync(path).length < 1024 * 1024, 'the bomb itself is small')
  await assertCode(path, 'entry-too-large', /Info\.plist/)
})

test('an entry that inflates past the size it declares is refused', { timeout: 20_000 }, async (t) => {
  const path = join(tempDir(t), 'liar.ipa')
  await buildIpa(path, { infoPlistBytes: Buffer.alloc(8 * 1024 * 1024, 0x20) })
  patchEntrySizes(path, INFO, { uncompressedSize: 100 })
  await assertCode(path, 'archive-corrupt')
})

test('truncated archives are damaged, not "not a zip"', async (t) => {
  const dir = tempDir(t)
  const whole = join(dir, 'whole.ipa')
  await buildIpa(whole, { fillerEntries: 50 })
  const bytes = readFileSync(whole)
  for (const keep of [bytes.length - 10, Math.floor(bytes.length / 2), 200]) {
    const path = join(dir, `cut-${keep}.ipa`)
    writeFileSync(path, bytes.subarray(0, keep))
    await assertCode(path, 'archive-corrupt')
  }
})

test('a local header offset past the end of the file is damage', async (t) => {
  const path = join(tempDir(t), 'offset.ipa')
  await buildIpa(path)
  patchLocalHeaderOffset(path, INFO, 0x7fff_0000)
  await assertCode(path, 'archive-corrupt')
})

test('a CRC-32 mismatch in a stored entry is caught', async (t) => {
  const path = join(tempDir(t), 'crc.ipa')
  await writeZip(path, [{ name: INFO, data: '<?xml version="1.0"?><plist version="1.0"><dict><key>CFBundleIdentifier</key><string>com.example.x</string></dict></plist>', compress: false }])
  const bytes = readFileSync(path)
  const at = bytes.indexOf('com.example.x')
  bytes[at] = 'C'.charCodeAt(0)
  writeFileSync(path, bytes)
  await assertCode(path, 'archive-corrupt', /CRC/)
})

test('path traversal and absolute entry names are refused; nothing is written anywhere', async (t) => {
  const dir = tempDir(t)
  for (const [placeholder, hostile] of [
    ['Payload/Example.app/xxxxxxxxxxxxxxxx', 'Payload/../../../../etc/passwd'],
    ['Payload/Example.app/abs', '/etc/shadow'],
  ] as const) {
    const path = join(dir, `${hostile.length}.ipa`)
    const padded = placeholder.padEnd(hostile.length, 'x').slice(0, hostile.length)
    await buildIpa(path, { extraEntries: [{ name: padded, data: 'owned' }] })
    patchEntryName(path, padded, hostile)
    await assertCode(path, 'unsafe-entry-name')
  }
})

test('XXE and billion-laughs Info.plists are refused without expanding anything', { timeout: 10_000 }, async (t) => {
  const dir = tempDir(t)
  const xxe = `<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><plist version="1.0"><dict><key>CFBundleIdentifier</key><string>&xxe;</string></dict></plist>`
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><plist version="1.0"><dict><key>CFBundleIdentifier</key><string>&lol9;</string></dict></plist>`
  for (const [name, text] of [['xxe', xxe], ['laughs', laughs]] as const) {
    const path = join(dir, `${name}.ipa`)
    await buildIpa(path, { infoPlistBytes: Buffer.from(text) })
    await assertCode(path, 'invalid-info-plist')
  }
})

test('Info.plist without a bundle id, or with keys of the wrong type, is invalid-info-plist', async (t) => {
  const dir = tempDir(t)
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no-id', { CFBundleIdentifier: undefined }, /CFBundleIdentifier is missing/],
    ['array-id', { CFBundleIdentifier: ['com.example'] }, /CFBundleIdentifier must be a string/],
    ['dict-version', { CFBundleVersion: { a: 1 } }, /CFBundleVersion must be a string/],
    ['bad-family', { UIDeviceFamily: ['phone'] }, /UIDeviceFamily/],
    ['bad-chars', { CFBundleIdentifier: 'com.example/../x' }, /characters/],
  ]
  for (const [name, info, message] of cases) {
    const path = join(dir, `${name}.ipa`)
    await buildIpa(path, { info })
    await assertCode(path, 'invalid-info-plist', message)
  }
  const garbage = join(dir, 'garbage.ipa')
  await buildIpa(garbage, { infoPlistBytes: Buffer.from('this is not a plist at all') })
  await assertCode(garbage, 'invalid-info-plist')
})

test('a garbage embedded.mobileprovision is invalid-profile', async (t) => {
  const path = join(tempDir(t), 'profile.ipa')
  await buildIpa(path, { profile: Buffer.from('0\x82\x01\x00garbage that looks a bit like DER') })
  await assertCode(path, 'invalid-profile', /embedded\.mobileprovision/)
})

test('20,000 entries with ZIP64 records: the app is found at the end of the central directory', { timeout: 60_000 }, async (t) => {
  const path = join(tempDir(t), 'many.ipa')
  await buildIpa(path, { fillerEntries: 20_000, zip64: true })
  const { info } = await inspectIpa(path, { now: NOW })
  assert.equal(info.bundleId, 'com.example.app')
  assert.equal(info.version, '1.2.3')
  assert.equal(info.build, '45')
  assert.equal(info.name, 'Example App')
  assert.deepEqual(info.deviceFamily, ['iphone', 'ipad'])
})

test('a simulator build is readable but flagged', async (t) => {
  const path = join(tempDir(t), 'sim.ipa')
  await buildIpa(path, { info: { DTPlatformName: 'iphonesimulator', CFBundleSupportedPlatforms: ['iPhoneSimulator'] } })
  const { info } = await inspectIpa(path, { now: NOW })
  assert.equal(info.platform, 'iphonesimulator')
  assert.equal(info.problems.find((p) => p.code === 'simulator-build')?.severity, 'error')
})

test('a missing file is file-not-found', async () => {
  await assertCode('/nonexistent/airstrip/none.ipa', 'file-not-found')
})

function* zeros(total: number): Generator<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024)
  for (let sent = 0; sent < total; sent += chunk.length) yield chunk
}
