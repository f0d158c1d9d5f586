// The manifest, parsed back with plist: exactly Apple's keys and values, hostile text escaped.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse } from 'plist'
import type { ManifestInput } from '../../src/ota/manifest.ts'
import { buildManifest } from '../../src/ota/manifest.ts'

const BASE: ManifestInput = {
  ipaUrl: 'https://ota.example.com/d/tok.en/Example-1.2.ipa',
  bundleId: 'com.example.app',
  bundleVersion: '1.2',
  title: 'Example',
}
const HASH = 'ab'.repeat(32)

function parsed(input: ManifestInput): { assets: Array<Record<string, unknown>>; metadata: Record<string, unknown> } {
  const xml = buildManifest(input)
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>'), 'XML declaration comes first')
  assert.notEqual(xml.charCodeAt(0), 0xfeff)
  const root = parse(xml) as { items: Array<{ assets: Array<Record<string, unknown>>; metadata: Record<string, unknown> }> }
  assert.deepEqual(Object.keys(root), ['items'])
  assert.equal(root.items.length, 1)
  const item = root.items[0]
  assert.ok(item)
  assert.deepEqual(Object.keys(item), ['assets', 'metadata'])
  return item
}

test('minimal manifest: software-package + metadata, nothing else', () => {
  const { assets, metadata } = parsed(BASE)
  assert.deepEqual(assets, [{ kind: 'software-package', url: BASE.ipaUrl }])
  assert.deepEqual(metadata, { 'bundle-identifier': 'com.example.app', 'bundle-version': '1.2', kind: 'software', title: 'Example' })
})

test('full manifest: chunk hashes win over the whole-file hash; icon as display and full-size image', () => {
  const chunks = ['0f'.repeat(32), 'A1'.repeat(32)]
  const { assets, metadata } = parsed({
    ...BASE,
    iconUrl: 'https://ota.example.com/icon/tok.png',
    subtitle: 'Example Inc',
    sha256: HASH,
    chunkSize: 10_485_760,
    chunkSha256s: chunks,
  })
  assert.deepEqual(assets, [
    { kind: 'software-package', url: BASE.ipaUrl, 'sha256-size': 10_485_760, sha256s: ['0f'.repeat(32), 'a1'.repeat(32)] },
    { kind: 'display-image', url: 'https://ota.example.com/icon/tok.png' },
    { kind: 'full-size-image', url: 'https://ota.example.com/icon/tok.png' },
  ])
  assert.deepEqual(metadata, { 'bundle-identifier': 'com.example.app', 'bundle-version': '1.2', kind: 'software', title: 'Example', subtitle: 'Example Inc' })
})

test('sha256-size is an <integer>, as Apple requires', () => {
  const xml = buildManifest({ ...BASE, chunkSize: 10_485_760, chunkSha256s: [HASH] })
  assert.match(xml, /<key>sha256-size<\/key>\s*<integer>10485760<\/integer>/)
})

test('whole-file sha256 when no chunk hashes; no icon keys when the icon is null; null version omitted', () => {
  const { assets, metadata } = parsed({ ...BASE, sha256: HASH, chunkSha256s: [], iconUrl: null, subtitle: null, bundleVersion: null })
  assert.deepEqual(assets, [{ kind: 'software-package', url: BASE.ipaUrl, sha256: HASH }])
  assert.deepEqual(metadata, { 'bundle-identifier': 'com.example.app', kind: 'software', title: 'Example' })
})

test('hostile titles and URLs are escaped and round-trip', () => {
  const hostile = [
    '<script>alert(1)</script>',
    'Tom & Jerry',
    'a]]>b<![CDATA[c',
    `"quotes" and 'apostrophes'`,
    'Émoji 🚀👩‍💻 App',
    '</string></dict><key>kind</key><string>evil',
    '&amp; &lt;',
  ]
  for (const title of hostile) {
    const input = { ...BASE, title, subtitle: title, ipaUrl: 'https://ota.example.com/d/t/x.ipa?a=1&b=<2>' }
    const xml = buildManifest(input)
    assert.ok(!xml.includes('<script>'), 'no raw markup from the title')
    assert.ok(!xml.includes('?a=1&b'), 'the & in the URL is escaped')
    const { assets, metadata } = parsed(input)
    assert.equal(metadata['title'], title)
    assert.equal(metadata['subtitle'], title)
    assert.equal(assets[0]?.['url'], 'https://ota.example.com/d/t/x.ipa?a=1&b=<2>')
    assert.deepEqual(Object.keys(metadata), ['bundle-identifier', 'bundle-version', 'kind', 'title', 'subtitle'])
  }
})

test('characters XML cannot carry are dropped instead of producing an invalid manifest', () => {
  const { metadata } = parsed({ ...BASE, title: 'Bad\u0000Ti\u0007tle\uFFFE\uD800', bundleVersion: '1.\u00012' })
  assert.equal(metadata['title'], 'BadTitle')
  assert.equal(metadata['bundle-version'], '1.2')
})

test('an empty title falls back to the bundle id', () => {
  assert.equal(parsed({ ...BASE, title: '  ' }).metadata['title'], 'com.example.app')
})

test('inconsistent hashes are refused', () => {
  assert.throws(() => buildManifest({ ...BASE, chunkSha256s: [HASH] }), /chunkSize/)
  assert.throws(() => buildManifest({ ...BASE, chunkSize: 0, chunkSha256s: [HASH] }), /chunkSize/)
  assert.throws(() => buildManifest({ ...BASE, chunkSize: 1024, chunkSha256s: ['xyz'] }), /SHA-256/)
  assert.throws(() => buildManifest({ ...BASE, sha256: 'abc' }), /SHA-256/)
  assert.throws(() => buildManifest({ ...BASE, bundleId: '' }), /bundle/)
})
