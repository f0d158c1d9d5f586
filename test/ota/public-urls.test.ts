// Every absolute URL comes from the configured public URL, with or without a path prefix.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPublicUrls, ipaFileName } from '../../src/ota/public-urls.ts'

const TOKEN = 'djE6aXBhOmIxOjE3OTUwMDAwMDA.Yk3QH0m9-Zb1v0z8c7Lxk2oZ2d1oGd0cJ3yXk8sQy0A'

test('root public URL, with or without trailing slash', () => {
  for (const configured of ['https://ota.example.com', 'https://ota.example.com/', 'https://ota.example.com//']) {
    const urls = createPublicUrls(configured)
    assert.equal(urls.origin, 'https://ota.example.com')
    assert.equal(urls.basePath, '')
    assert.equal(urls.isHttps, true)
    assert.equal(urls.home(), 'https://ota.example.com/')
    assert.equal(urls.installPage('bld_1'), 'https://ota.example.com/i/bld_1')
    assert.equal(urls.appPage('app-9'), 'https://ota.example.com/apps/app-9')
    assert.equal(urls.manifest(TOKEN), `https://ota.example.com/m/${TOKEN}/manifest.plist`)
    assert.equal(urls.ipa(TOKEN, 'My-App-1.2'), `https://ota.example.com/d/${TOKEN}/My-App-1.2.ipa`)
    assert.equal(urls.icon(TOKEN), `https://ota.example.com/icon/${TOKEN}.png`)
    assert.equal(urls.caCertificate(), 'https://ota.example.com/ca.crt')
    assert.equal(urls.caProfile(), 'https://ota.example.com/ca.mobileconfig')
    assert.equal(urls.api('builds'), 'https://ota.example.com/api/builds')
  }
})

test('path prefix, with or without trailing slash; origin excludes it', () => {
  for (const configured of ['https://example.com/ota', 'https://example.com/ota/']) {
    const urls = createPublicUrls(configured)
    assert.equal(urls.origin, 'https://example.com')
    assert.equal(urls.basePath, '/ota')
    assert.equal(urls.home(), 'https://example.com/ota/')
    assert.equal(urls.installPage('b1'), 'https://example.com/ota/i/b1')
    assert.equal(urls.manifest(TOKEN), `https://example.com/ota/m/${TOKEN}/manifest.plist`)
    assert.equal(urls.ipa(TOKEN, 'x'), `https://example.com/ota/d/${TOKEN}/x.ipa`)
    assert.equal(urls.icon(TOKEN), `https://example.com/ota/icon/${TOKEN}.png`)
    assert.equal(urls.caProfile(), 'https://example.com/ota/ca.mobileconfig')
    assert.equal(urls.api('/builds/b1?limit=5'), 'https://example.com/ota/api/builds/b1?limit=5')
  }
})

test('explicit ports are kept, default ports dropped, hosts lower-cased and IDN punycoded', () => {
  assert.equal(createPublicUrls('https://OTA.Example.com:8443/a/b/').installPage('b1'), 'https://ota.example.com:8443/a/b/i/b1')
  assert.equal(createPublicUrls('https://ota.example.com:443').origin, 'https://ota.example.com')
  assert.equal(createPublicUrls('https://bücher.example/').origin, 'https://xn--bcher-kva.example')
  const dev = createPublicUrls('http://localhost:3000')
  assert.equal(dev.isHttps, false)
  assert.equal(dev.manifest(TOKEN), `http://localhost:3000/m/${TOKEN}/manifest.plist`)
})

test('every generated URL is free of spaces, escapes and non-ASCII', () => {
  const urls = createPublicUrls('https://example.com/ota/')
  const all = [urls.home(), urls.installPage('b1'), urls.appPage('a1'), urls.manifest(TOKEN), urls.ipa(TOKEN, ipaFileName('Très Bon App', '1.2')), urls.icon(TOKEN), urls.caCertificate(), urls.caProfile()]
  for (const url of all) assert.match(url, /^https:\/\/example\.com\/ota\/[A-Za-z0-9._\/-]*$/, url)
})

test('bad configuration is refused', () => {
  for (const bad of ['ota.example.com', '/ota', 'ftp://example.com', 'https://user:pw@example.com', 'https://example.com/?x=1', 'https://example.com/#top', 'https://example.com/my ota', 'https://example.com/%C3%A9']) {
    assert.throws(() => createPublicUrls(bad), Error, bad)
  }
})

test('ids, tokens, file names and API paths that are not path-safe are refused', () => {
  const urls = createPublicUrls('https://example.com')
  for (const id of ['', '..', 'a/b', 'a b', 'a%2Fb', 'é', 'a?b', 'a#b']) {
    assert.throws(() => urls.installPage(id), /not path-safe/, id)
    assert.throws(() => urls.appPage(id), /not path-safe/, id)
  }
  for (const token of ['', '..', 'a/b', 'a b', 'a%20b', 'a+b']) assert.throws(() => urls.manifest(token), /not path-safe/, token)
  for (const name of ['', '.hidden', '../x', 'a b', 'é']) assert.throws(() => urls.ipa(TOKEN, name), /not path-safe/, name)
  for (const path of ['../admin', 'a/../../b', 'a b', 'x\\y', 'https://evil.example/']) assert.throws(() => urls.api(path), /unsafe/, path)
})

test('ipa() does not double the extension', () => {
  const urls = createPublicUrls('https://example.com')
  assert.equal(urls.ipa(TOKEN, 'App-1.0.ipa'), `https://example.com/d/${TOKEN}/App-1.0.ipa`)
})

test('ipaFileName: path-safe ASCII slug, never empty', () => {
  const cases: Array<[string, string | null, string]> = [
    ['Très Bon App', '1.2', 'Tres-Bon-App-1.2'],
    ['Example', null, 'Example'],
    ['My   App!!', '2.0 (45)', 'My-App-2.0-45'],
    ['Ünïcödé Çafé', '1.0', 'Unicode-Cafe-1.0'],
    ['微信', '8.0', 'app-8.0'],
    ['🚀', null, 'app'],
    ['', '', 'app'],
    ['../../etc/passwd', '1', 'etc-passwd-1'],
    ['..', null, 'app'],
    ['App.', '..1..', 'App-1'],
    ['ﬁnal ＡＰＰ', '１.２', 'final-APP-1.2'],
    ['a%20b', null, 'a-20b'],
  ]
  for (const [name, version, expected] of cases) assert.equal(ipaFileName(name, version), expected, `${name} ${version}`)
  const long = ipaFileName('x'.repeat(500), '1'.repeat(500))
  assert.ok(long.length <= 121, `${long.length}`)
  assert.match(long, /^[A-Za-z0-9][A-Za-z0-9._-]*$/)
})
