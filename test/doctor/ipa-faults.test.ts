import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { before, describe, it } from 'node:test'
import { fixture } from '../support/fixtures.ts'
import { chainPem, makePki, type TestPki } from './support/certificates.ts'
import { doctor, layOutSite, pemFile, startDeployment, type Deployment, type Site } from './support/deployment.ts'

let pki: TestPki
let ipa: Buffer
const INFO = { bundleId: 'com.bitbar.BitBarSample', bundleVersion: '1.0', title: 'BitBar Sample' }
const LOGIN = '<!doctype html><html><body><form action="/login" method="post"><input name="user"><input type="password" name="password"></form></body></html>'

before(async () => {
  pki = await makePki()
  ipa = readFileSync(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'))
})

async function deployment(t: { after(fn: () => unknown): void }, site = { ...INFO }): Promise<{ site: Deployment; urls: Site; run(url?: string): ReturnType<typeof doctor> }> {
  const server = await startDeployment(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem })
  const urls = layOutSite(server, { ipa, ...site })
  const trust = ['--ca-file', pemFile(t, pki.root.certPem), '--now', '2026-06-01T00:00:00Z']
  return { site: server, urls, run: (url = urls.manifestUrl) => doctor(url, ...trust) }
}

describe('downloading the .ipa', () => {
  it('ipa-unreachable: 404, and 403 for a missing or expired token', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/app/App.ipa'] = { status: 404, type: 'text/plain', body: 'no such file\n' }
    const missing = await run()
    assert.equal(missing.status('ipa-unreachable'), 'fail')
    assert.match(missing.check('ipa-unreachable').message, /404/)
    assert.match(missing.check('ipa-unreachable').symptom ?? '', /Unable to Download App/)
    assert.equal(missing.status('ipa-corrupt'), 'skip')
    site.routes['/app/App.ipa'] = { status: 403, type: 'text/plain', body: 'signature expired\n' }
    assert.match((await run()).check('ipa-unreachable').message, /403.*token/)
  })

  it('ipa-redirect: a redirect is a warning; a redirect to a login page fails', async (t) => {
    const { site, urls, run } = await deployment(t)
    site.routes['/moved/manifest.plist'] = { type: 'text/xml', body: urls.manifest.replace(urls.ipaUrl, site.url('/r/App.ipa')), headers: { 'cache-control': 'no-store' } }
    site.routes['/r/App.ipa'] = { status: 302, type: 'text/plain', body: '', headers: { location: '/app/App.ipa' } }
    const moved = await run(site.url('/moved/manifest.plist'))
    assert.equal(moved.status('ipa-redirect'), 'warn')
    assert.equal(moved.status('ipa-corrupt'), 'pass', 'read at the final URL')
    assert.equal(moved.code, 0)
    site.routes['/r/App.ipa'] = { status: 302, type: 'text/plain', body: '', headers: { location: '/accounts/login' } }
    site.routes['/accounts/login'] = { type: 'text/html', body: LOGIN }
    const login = await run(site.url('/moved/manifest.plist'))
    assert.equal(login.status('ipa-redirect'), 'fail')
    assert.equal(login.status('ipa-not-octet-stream'), 'fail')
  })

  it('ipa-not-octet-stream: an HTML login page instead of the .ipa; another type is a warning', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/app/App.ipa'] = { type: 'text/html; charset=utf-8', body: LOGIN }
    const html = await run()
    assert.equal(html.status('ipa-not-octet-stream'), 'fail')
    assert.match(html.check('ipa-not-octet-stream').message, /HTML/)
    site.routes['/app/App.ipa'] = { type: 'application/zip', body: ipa }
    const zip = await run()
    assert.equal(zip.status('ipa-not-octet-stream'), 'warn')
    assert.equal(zip.status('ipa-corrupt'), 'pass')
  })

  it('ipa-content-length: chunked (none), and a Content-Length that disagrees with Content-Range', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/app/App.ipa'] = { body: ipa, contentLength: 'chunked' }
    const chunked = await run()
    assert.equal(chunked.status('ipa-content-length'), 'fail')
    assert.match(chunked.check('ipa-content-length').message, /no Content-Length.*chunked/)
    site.routes['/app/App.ipa'] = { body: ipa, contentLength: ipa.length + 5000 }
    const lying = await run()
    assert.equal(lying.status('ipa-content-length'), 'fail')
    assert.match(lying.check('ipa-content-length').message, new RegExp(`Content-Range says the file is ${ipa.length} bytes`))
  })

  it('ipa-no-range: Range ignored is a warning; a small .ipa is then downloaded and still read', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/app/App.ipa'] = { body: ipa, ranges: false }
    const result = await run()
    assert.equal(result.status('ipa-no-range'), 'warn')
    assert.equal(result.status('ipa-corrupt'), 'pass')
    assert.equal(result.check('ipa-corrupt').evidence['transfer'] && (result.check('ipa-corrupt').evidence['transfer'] as { method: string }).method, 'download')
    assert.equal(result.status('certificate-expired'), 'pass')
    assert.equal(result.code, 0)
  })

  it('ipa-content-encoding: a gzip-compressed .ipa', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/app/App.ipa'] = { body: ipa, gzip: true }
    const result = await run()
    assert.equal(result.status('ipa-content-encoding'), 'fail')
    assert.match(result.check('ipa-content-encoding').message, /gzip/)
  })

  it('ipa-corrupt: not a ZIP, a truncated upload, and a chunk hash that does not match', async (t) => {
    const { site, urls, run } = await deployment(t)
    site.routes['/app/App.ipa'] = { body: 'this is not an archive\n'.repeat(100) }
    const text = await run()
    assert.equal(text.status('ipa-corrupt'), 'fail')
    assert.match(text.check('ipa-corrupt').message, /not-a-zip/)
    site.routes['/app/App.ipa'] = { body: ipa.subarray(0, ipa.length - 4096) }
    const truncated = await run()
    assert.equal(truncated.status('ipa-corrupt'), 'fail')
    site.routes['/app/App.ipa'] = { body: ipa }
    const declared = /<string>([0-9a-f]{64})<\/string>/.exec(urls.manifest)![1]!
    site.routes['/app/manifest.plist'] = { type: 'text/xml', body: urls.manifest.replace(declared, 'ab'.repeat(32)), headers: { 'cache-control': 'no-store' } }
    const mismatch = await run()
    assert.equal(mismatch.status('ipa-corrupt'), 'fail')
    assert.match(mismatch.check('ipa-corrupt').message, new RegExp(`sha256 of chunk 1 of 1 .* is ${declared}, the manifest says abab`))
  })

  it('image-unreachable: a missing icon is a warning', async (t) => {
    const { site, run } = await deployment(t)
    delete site.routes['/app/icon.png']
    const result = await run()
    assert.equal(result.status('image-unreachable'), 'warn')
    assert.match(result.check('image-unreachable').message, /404/)
    assert.equal(result.code, 0)
  })
})

describe('the manifest against the .ipa', () => {
  it('bundle-id-mismatch: the manifest names another bundle id', async (t) => {
    const { run } = await deployment(t, { ...INFO, bundleId: 'com.bitbar.Other' })
    const result = await run()
    assert.equal(result.status('bundle-id-mismatch'), 'fail')
    assert.match(result.check('bundle-id-mismatch').message, /"com\.bitbar\.Other".*"com\.bitbar\.BitBarSample"/)
    assert.equal(result.code, 1)
  })

  it('version-mismatch: another bundle-version is a warning', async (t) => {
    const { run } = await deployment(t, { ...INFO, bundleVersion: '9.9' })
    const result = await run()
    assert.equal(result.status('version-mismatch'), 'warn')
    assert.equal(result.code, 0)
  })
})
