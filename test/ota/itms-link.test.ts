// The itms-services link: real '&', whole manifest URL encoded, and it decodes back exactly.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { itmsServicesUrl } from '../../src/ota/itms-link.ts'

/** What iOS does with the `url` value: percent-decode once, then parse as a URL (B.2). */
function manifestUrlSeenByIos(link: string): string {
  const parsed = new URL(link)
  assert.equal(parsed.protocol, 'itms-services:')
  assert.equal(parsed.host, '', 'itms-services links have an empty host')
  assert.deepEqual([...parsed.searchParams.keys()], ['action', 'url'], 'exactly two parameters')
  assert.equal(parsed.searchParams.get('action'), 'download-manifest')
  const url = parsed.searchParams.get('url')
  assert.ok(url !== null)
  return url
}

test('a plain manifest URL: exact prefix, real &, round trip', () => {
  const manifest = 'https://ota.example.com/m/abc.def/manifest.plist'
  const link = itmsServicesUrl(manifest)
  assert.equal(link, 'itms-services://?action=download-manifest&url=https%3A%2F%2Fota.example.com%2Fm%2Fabc.def%2Fmanifest.plist')
  assert.ok(!link.includes('&amp;'))
  assert.equal(manifestUrlSeenByIos(link), manifest)
})

test('manifest URLs with &, ?, %, +, #, =, encoded spaces and a port round-trip exactly', () => {
  const manifests = [
    'https://ota.example.com/api/2/apps/x?format=plist&token=a&b=c',
    'https://ota.example.com/m/My%20App.plist',
    'https://ota.example.com/m/100%25/manifest.plist?q=a%26b',
    'https://ota.example.com/m/a+b/manifest.plist?x=1+2',
    'https://ota.example.com:8443/m/t/manifest.plist?a==b#frag',
    "https://ota.example.com/m/!$'()*,;:@~/manifest.plist",
  ]
  for (const manifest of manifests) {
    const link = itmsServicesUrl(manifest)
    assert.equal(link.match(/&/g)?.length, 1, `only the separator & is literal: ${link}`)
    assert.ok(!/[ ?#]/.test(link.slice(link.indexOf('url=') + 4)), 'nothing in the value can end it early')
    assert.equal(manifestUrlSeenByIos(link), manifest)
    assert.equal(decodeURIComponent(link.slice(link.indexOf('url=') + 4)), manifest)
  }
})

test('an encoded space survives iOS decoding once as %20 (double-escaped in the link)', () => {
  const link = itmsServicesUrl('https://ota.example.com/m/My%20App.plist')
  assert.ok(link.includes('My%2520App.plist'))
})

test('literal spaces, Unicode and control characters are refused: iOS would drop the link', () => {
  for (const bad of ['https://ota.example.com/m/My App.plist', 'https://ota.example.com/m/é.plist', 'https://ota.example.com/m/\n.plist', '']) {
    assert.throws(() => itmsServicesUrl(bad), /printable ASCII/, JSON.stringify(bad))
  }
})

test('http is refused unless allowHttp; other schemes, relative URLs and credentials always', () => {
  assert.throws(() => itmsServicesUrl('http://ota.example.com/m/t/manifest.plist'), /https/)
  const dev = itmsServicesUrl('http://localhost:3000/m/t/manifest.plist', { allowHttp: true })
  assert.equal(manifestUrlSeenByIos(dev), 'http://localhost:3000/m/t/manifest.plist')
  for (const bad of ['/m/t/manifest.plist', 'ftp://example.com/m.plist', 'itms-services://?action=download-manifest&url=x', 'file:///etc/passwd', 'https://u:p@example.com/m.plist']) {
    assert.throws(() => itmsServicesUrl(bad, { allowHttp: true }), Error, bad)
  }
})

test('an already-built itms link is not wrapped twice (the doubled-prefix bug)', () => {
  assert.throws(() => itmsServicesUrl(itmsServicesUrl('https://ota.example.com/m/t/manifest.plist')))
})
