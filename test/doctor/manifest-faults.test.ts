import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { freePort } from '../support/server.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { chainPem, makePki, type TestPki } from './support/certificates.ts'
import { doctor, installPage, layOutSite, pemFile, startDeployment, type Deployment, type Site } from './support/deployment.ts'

let pki: TestPki
let ipa: Buffer
// A current, Apple-signed build, judged at a date inside its profile's life: every fault below is the deployment's.
const INFO = { bundleId: 'com.bitbar.BitBarSample', bundleVersion: '1.0', title: 'BitBar Sample' }
const NOW = ['--now', '2026-06-01T00:00:00Z']

before(async () => {
  pki = await makePki()
  ipa = readFileSync(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'))
})

/** A healthy https deployment; tests then break exactly one thing. */
async function deployment(t: { after(fn: () => unknown): void }): Promise<{ site: Deployment; urls: Site; trust: string[] }> {
  const site = await startDeployment(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem })
  return { site, urls: layOutSite(site, { ipa, ...INFO }), trust: ['--ca-file', pemFile(t, pki.root.certPem), ...NOW] }
}

const encode = encodeURIComponent

describe('the install page and the itms-services link', () => {
  it('page-no-link: a page without a link, and a login page', async (t) => {
    const { site, trust } = await deployment(t)
    site.routes['/empty.html'] = { type: 'text/html', body: '<!doctype html><p>Coming soon</p>' }
    site.routes['/login.html'] = { type: 'text/html', body: '<!doctype html><form method=post><input name=user><input type="password" name=pass></form>' }
    const empty = await doctor(site.url('/empty.html'), ...trust)
    assert.equal(empty.status('page-no-link'), 'fail')
    assert.equal(empty.status('link-malformed'), 'skip')
    assert.equal(empty.code, 1)
    const login = await doctor(site.url('/login.html'), ...trust)
    assert.match(login.check('page-no-link').message, /login page/)
  })

  it('link-malformed: &amp; escaped twice in HTML, and a literal &amp; in JavaScript', async (t) => {
    const { site, urls, trust } = await deployment(t)
    site.routes['/double.html'] = { type: 'text/html', body: installPage(urls.link.replaceAll('&', '&amp;amp;')) }
    site.routes['/script.html'] = {
      type: 'text/html',
      body: `<!doctype html><button id=b>Install</button><script>document.getElementById('b').onclick = () => { location.href = "${urls.link.replace('&', '&amp;').replaceAll('/', '\\/')}" }</script>`,
    }
    const double = await doctor(site.url('/double.html'), ...trust)
    assert.equal(double.status('link-malformed'), 'fail')
    assert.match(double.check('link-malformed').message, /escapes the link twice/)
    assert.equal(double.check('link-malformed').fix, `Write the link exactly as: ${urls.link}`)
    assert.equal(double.status('manifest-invalid'), 'pass', 'the manifest is still diagnosed')

    const script = await doctor(site.url('/script.html'), ...trust)
    assert.equal(script.status('link-malformed'), 'fail')
    assert.match(script.check('link-malformed').message, /literal "&amp;".*JavaScript/)
    assert.equal(script.check('link-malformed').evidence['foundIn'], 'script')
  })

  it('link-malformed: unencoded query cut at "&", doubled prefix, host, space; unencoded but harmless is a warning', async (t) => {
    const { site, urls, trust } = await deployment(t)
    site.routes['/q/manifest.plist'] = { type: 'text/xml', body: urls.manifest, headers: { 'cache-control': 'no-store' } }
    const cut = await doctor(`itms-services://?action=download-manifest&url=${site.url('/q/manifest.plist')}?token=abc&build=1`, ...trust)
    assert.equal(cut.status('link-malformed'), 'fail')
    assert.match(cut.check('link-malformed').message, /cut at "&"/)
    assert.equal(cut.status('manifest-unreachable'), 'pass', 'doctor follows the URL the author meant')

    const doubled = await doctor(`itms-services://?action=download-manifest&url=${encode(urls.link)}`, ...trust)
    assert.match(doubled.check('link-malformed').message, /prefix is doubled/)
    assert.equal(doubled.status('manifest-invalid'), 'pass')

    const withHost = await doctor(`itms-services://localhost/?action=download-manifest&url=${encode(urls.manifestUrl)}`, ...trust)
    assert.match(withHost.check('link-malformed').message, /host/)

    const space = await doctor(`itms-services://?action=download-manifest&url=${site.url('/my app/manifest.plist')}`, ...trust)
    assert.equal(space.status('link-malformed'), 'fail')
    assert.match(space.check('link-malformed').message, /spaces/)

    const unencoded = await doctor(`itms-services://?action=download-manifest&url=${urls.manifestUrl}`, ...trust)
    assert.equal(unencoded.status('link-malformed'), 'warn')
    assert.equal(unencoded.code, 0)
  })

  it('manifest-not-https: a manifest over plain http', async (t) => {
    const plain = await startDeployment(t, null)
    const urls = layOutSite(plain, { ipa, ...INFO })
    const run = await doctor(`itms-services://?action=download-manifest&url=${encode(urls.manifestUrl)}`)
    assert.equal(run.status('manifest-not-https'), 'fail')
    assert.match(run.check('manifest-not-https').symptom ?? '', /Cannot connect/)
    assert.equal(run.status('asset-not-https'), 'fail')
    assert.equal(run.status('tls-untrusted'), 'skip')
  })
})

describe('fetching the manifest', () => {
  it('manifest-unreachable: connection refused (exit 2), 404 and 500 (exit 1)', async (t) => {
    const refused = await doctor(`https://localhost:${await freePort()}/manifest.plist`, '--timeout', '5')
    assert.equal(refused.status('manifest-unreachable'), 'fail')
    assert.match(refused.check('manifest-unreachable').message, /refused/)
    assert.equal(refused.code, 2)

    const { site, trust } = await deployment(t)
    const missing = await doctor(site.url('/nothing/manifest.plist'), ...trust)
    assert.equal(missing.status('manifest-unreachable'), 'fail')
    assert.match(missing.check('manifest-unreachable').message, /404/)
    assert.equal(missing.code, 1)
    site.routes['/broken.plist'] = { type: 'text/plain', status: 500, body: 'oops' }
    assert.match((await doctor(site.url('/broken.plist'), ...trust)).check('manifest-unreachable').message, /500/)
  })

  it('manifest-requires-auth: basic auth, a redirect to a login page, a login form', async (t) => {
    const { site, trust } = await deployment(t)
    site.routes['/basic/manifest.plist'] = { status: 401, type: 'text/plain', body: 'auth', headers: { 'www-authenticate': 'Basic realm="ota"' } }
    site.routes['/sso/manifest.plist'] = { status: 302, type: 'text/html', body: '', headers: { location: '/accounts/login?next=/sso/manifest.plist' } }
    site.routes['/accounts/login'] = { type: 'text/html', body: '<form><input type=password></form>' }
    site.routes['/form/manifest.plist'] = { type: 'text/html', body: '<!doctype html><form><input type="password"></form>', headers: { 'set-cookie': 'session=1' } }
    const basic = await doctor(site.url('/basic/manifest.plist'), ...trust)
    assert.equal(basic.status('manifest-requires-auth'), 'fail')
    assert.match(basic.check('manifest-requires-auth').message, /401.*Basic/)
    assert.equal(basic.status('manifest-unreachable'), 'skip')
    const sso = await doctor(site.url('/sso/manifest.plist'), ...trust)
    assert.equal(sso.status('manifest-requires-auth'), 'fail')
    assert.match(sso.check('manifest-requires-auth').message, /login/)
    const form = await doctor(site.url('/form/manifest.plist'), ...trust)
    assert.equal(form.status('manifest-requires-auth'), 'fail')
    assert.equal(form.status('manifest-invalid'), 'fail')
  })

  it('manifest-redirect: a redirect is a warning, to plain http a failure', async (t) => {
    const { site, urls, trust } = await deployment(t)
    site.routes['/old/manifest.plist'] = { status: 301, type: 'text/plain', body: '', headers: { location: urls.manifestUrl } }
    const moved = await doctor(site.url('/old/manifest.plist'), ...trust)
    assert.equal(moved.status('manifest-redirect'), 'warn')
    assert.match(moved.check('manifest-redirect').message, /301 →/)
    assert.equal(moved.status('manifest-invalid'), 'pass')
    assert.equal(moved.code, 0)
    const plain = await startDeployment(t, null)
    layOutSite(plain, { ipa, ...INFO })
    site.routes['/down/manifest.plist'] = { status: 302, type: 'text/plain', body: '', headers: { location: plain.url('/app/manifest.plist') } }
    const downgrade = await doctor(site.url('/down/manifest.plist'), ...trust)
    assert.equal(downgrade.status('manifest-redirect'), 'fail')
    assert.equal(downgrade.status('manifest-not-https'), 'fail')
  })

  it('manifest-content-type: application/octet-stream is a warning', async (t) => {
    const { site, urls, trust } = await deployment(t)
    site.routes['/app/manifest.plist'] = { type: 'application/octet-stream', body: urls.manifest, headers: { 'cache-control': 'no-store' } }
    const run = await doctor(urls.manifestUrl, ...trust)
    assert.equal(run.status('manifest-content-type'), 'warn')
    assert.equal(run.check('manifest-content-type').severity, 'warning')
    assert.equal(run.code, 0)
  })

  it('manifest-invalid: BOM, leading whitespace, bad XML, missing keys, wrong kind, not a plist', async (t) => {
    const { site, urls, trust } = await deployment(t)
    const variants: Record<string, [string | Buffer, RegExp]> = {
      bom: [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(urls.manifest)]), /byte-order mark/],
      space: [`\n${urls.manifest}`, /whitespace before/],
      ampersand: [urls.manifest.replace('<string>BitBar Sample</string>', '<string>Tom & Jerry</string>'), /unescaped "&"/],
      'no-bundle-id': [urls.manifest.replace(/<key>bundle-identifier<\/key>\s*<string>[^<]*<\/string>/, ''), /bundle-identifier/],
      kind: [urls.manifest.replace('<string>software</string>', '<string>softwares</string>'), /"softwares", not "software"/],
      'no-package': [urls.manifest.replace('software-package', 'display-image'), /software-package/],
      html: ['<!doctype html><h1>Error</h1>', /HTML page/],
    }
    for (const [name, [body, expected]] of Object.entries(variants)) {
      site.routes[`/${name}/manifest.plist`] = { type: 'text/xml', body, headers: { 'cache-control': 'no-store' } }
      const run = await doctor(site.url(`/${name}/manifest.plist`), ...trust)
      assert.equal(run.status('manifest-invalid'), 'fail', name)
      assert.match(run.check('manifest-invalid').message, expected, name)
    }
  })

  it('manifest-invalid and friends on a local .plist file', async (t) => {
    const { urls, trust } = await deployment(t)
    const dir = tempDir(t)
    writeFileSync(join(dir, 'good.plist'), urls.manifest)
    writeFileSync(join(dir, 'bad.plist'), urls.manifest.replace('<key>title</key>', '<key>titel</key>'))
    const good = await doctor(join(dir, 'good.plist'), ...trust)
    assert.equal(good.status('manifest-invalid'), 'pass')
    assert.equal(good.status('ipa-corrupt'), 'pass', 'the .ipa it names is still fetched')
    assert.equal(good.status('manifest-unreachable'), 'skip')
    assert.equal(good.code, 0)
    const bad = await doctor(join(dir, 'bad.plist'), ...trust)
    assert.match(bad.check('manifest-invalid').message, /no "title"/)
  })

  it('url-internal-host: a manifest that sends the installer to an internal host', async (t) => {
    const { urls, trust } = await deployment(t)
    const dir = tempDir(t)
    // The page and icon live on a public name; the .ipa URL leaked the internal one (here: localhost).
    const leaked = urls.manifest.replace(urls.iconUrl, 'https://ota.example.invalid/icon.png').replace(urls.iconUrl, 'https://ota.example.invalid/icon.png')
    writeFileSync(join(dir, 'manifest.plist'), leaked)
    const run = await doctor(join(dir, 'manifest.plist'), ...trust, '--request-timeout', '2')
    assert.equal(run.status('url-internal-host'), 'warn')
    assert.match(run.check('url-internal-host').message, /software-package URL names localhost, an internal address, while the deployment is reached as ota\.example\.invalid/)
    assert.equal(run.status('image-unreachable'), 'warn')
    assert.equal((await doctor(urls.manifestUrl, ...trust)).status('url-internal-host'), 'pass', 'all on one internal host: a LAN deployment')
  })

  it('manifest-cacheable: a static file with only ETag, or a long max-age', async (t) => {
    const { site, urls, trust } = await deployment(t)
    site.routes['/app/manifest.plist'] = { type: 'text/xml', body: urls.manifest }
    const heuristic = await doctor(urls.manifestUrl, ...trust)
    assert.equal(heuristic.status('manifest-cacheable'), 'warn')
    assert.match(heuristic.check('manifest-cacheable').message, /ETag/)
    site.routes['/app/manifest.plist'] = { type: 'text/xml', body: urls.manifest, headers: { 'cache-control': 'public, max-age=86400' } }
    assert.match((await doctor(urls.manifestUrl, ...trust)).check('manifest-cacheable').message, /86400 s/)
  })

  it('asset-not-https: an .ipa URL over plain http', async (t) => {
    const { site, urls, trust } = await deployment(t)
    const plain = await startDeployment(t, null)
    const plainUrls = layOutSite(plain, { ipa, ...INFO })
    site.routes['/mixed/manifest.plist'] = { type: 'text/xml', body: urls.manifest.replace(urls.ipaUrl, plainUrls.ipaUrl), headers: { 'cache-control': 'no-store' } }
    const run = await doctor(site.url('/mixed/manifest.plist'), ...trust)
    assert.equal(run.status('asset-not-https'), 'fail')
    assert.match(run.check('asset-not-https').message, /software-package: http:/)
    assert.equal(run.status('manifest-not-https'), 'pass')
  })
})
