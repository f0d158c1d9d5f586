// `airstrip export`: the files parsed, then served by a real nginx configured with the `types`
// snippet the command prints, fetched over HTTPS, and opened in headless Chromium (button on an
// iPhone, a QR code that decodes to the page elsewhere). The manifest must match the server's.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { test } from 'node:test'
import jsqr from 'jsqr'
import * as plist from 'plist'
import { PNG } from 'pngjs'
import { ensureDevCertificates } from '../../src/tls/dev-certificates.ts'
import { runCli as airstrip } from '../support/cli.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { freePort, startServer } from '../support/server.ts'
import { DESKTOP, IPHONE, NO_CHROMIUM, launchBrowser, visit } from '../web/browser.ts'

// jsqr is CommonJS with an `exports.default` (see test/ota/qr-code.test.ts).
const jsQR = jsqr.default
const NGINX = '/usr/sbin/nginx'
/** The fixture's profile and certificate are valid then (test/web/browser.ts). */
const NOW = '2026-03-02T10:00:00Z'
const IPA = fixture('ipa', 'bitbar-sample-latest-iOS.ipa')

interface Fetched {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

function fetchWithCa(url: string, ca: string): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca, agent: false }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }))
      response.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

/**
 * Debian's nginx serving `root` over HTTPS on `port`, with `location` (the block `airstrip export`
 * printed) as the only MIME configuration: no mime.types, so a type that is right came from it.
 */
async function startNginx(t: { after(fn: () => unknown): void }, options: { dir: string; root: string; port: number; location: string; ca: string }): Promise<void> {
  const certs = await ensureDevCertificates(join(options.dir, 'certs'), ['localhost'])
  writeFileSync(join(options.dir, 'cert.pem'), certs.certPem)
  writeFileSync(join(options.dir, 'key.pem'), certs.keyPem)
  writeFileSync(options.ca, certs.caCertPem)
  const conf = join(options.dir, 'nginx.conf')
  writeFileSync(
    conf,
    `daemon off;
master_process off;
pid ${options.dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${options.dir}/body; proxy_temp_path ${options.dir}/proxy; fastcgi_temp_path ${options.dir}/fastcgi;
  uwsgi_temp_path ${options.dir}/uwsgi; scgi_temp_path ${options.dir}/scgi;
  server {
    listen 127.0.0.1:${options.port} ssl;
    server_name localhost;
    ssl_certificate ${options.dir}/cert.pem;
    ssl_certificate_key ${options.dir}/key.pem;
    root ${options.root};
${options.location}
  }
}
`,
  )
  const nginx = spawn(NGINX, ['-p', options.dir, '-c', conf, '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  nginx.stderr.on('data', (chunk: Buffer) => (log += chunk))
  t.after(() => nginx.kill('SIGTERM'))
  for (let i = 0; i < 100; i++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${log}`)
    try {
      await fetchWithCa(`https://localhost:${options.port}/`, certs.caCertPem)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  throw new Error(`nginx did not start: ${log}`)
}

test('export writes a deployment that nginx serves with the printed types, and that installs from Safari', { skip: !existsSync(NGINX) && `${NGINX} missing (apt-get install nginx)`, timeout: 60_000 }, async (t) => {
  const dir = tempDir(t)
  const port = await freePort()
  const root = join(dir, 'www')
  // A path with a space and a non-ASCII letter: every URL must be encoded exactly once.
  const out = join(root, 'ota', 'My App ü')
  const baseUrl = `https://localhost:${port}/ota/My App ü`
  const encodedBase = `https://localhost:${port}/ota/My%20App%20%C3%BC/`
  const run = await airstrip(['export', IPA, '--base-url', baseUrl, '--out', out, '--now', NOW])
  assert.equal(run.code, 0, run.stderr)
  assert.equal(run.stderr, '', 'no problems at this date')

  const ipaName = 'BitBarSample-1.0.ipa'
  assert.deepEqual(readdirSync(out).sort(), [ipaName, 'icon.png', 'index.html', 'manifest.plist'])
  assert.deepEqual(readdirSync(join(root, 'ota')), ['My App ü'], 'no temp folder left behind')
  assert.match(run.stdout, new RegExp(`Install page: +${encodedBase.replace(/[.?*+()]/g, '\\$&')}index\\.html`))

  // The manifest: the same builder and fields as the server, URLs absolute under the base.
  const manifest = plist.parse(readFileSync(join(out, 'manifest.plist'), 'utf8')) as { items: Array<{ assets: Array<Record<string, unknown>>; metadata: Record<string, string> }> }
  const [item] = manifest.items
  assert.ok(item)
  const ipaBytes = readFileSync(IPA)
  const chunks: string[] = []
  for (let offset = 0; offset < ipaBytes.length; offset += 10 * 1024 * 1024) chunks.push(createHash('sha256').update(ipaBytes.subarray(offset, offset + 10 * 1024 * 1024)).digest('hex'))
  assert.deepEqual(item.assets, [
    { kind: 'software-package', url: `${encodedBase}${ipaName}`, 'sha256-size': 10 * 1024 * 1024, sha256s: chunks },
    { kind: 'display-image', url: `${encodedBase}icon.png` },
    { kind: 'full-size-image', url: `${encodedBase}icon.png` },
  ])
  const server = await startServer(t)
  const uploaded = (await server.upload(IPA)).json()
  const serverManifest = plist.parse((await server.request(uploaded.manifestUrl)).text()) as typeof manifest
  assert.deepEqual(item.metadata, serverManifest.items[0]!.metadata)
  assert.equal(item.metadata['bundle-identifier'], 'com.bitbar.BitBarSample')
  assert.deepEqual(item.assets[0]!['sha256s'], serverManifest.items[0]!.assets[0]!['sha256s'])

  // The page's install link: manifest URL encoded once more as the `url` parameter, `&` escaped once in HTML.
  const html = readFileSync(join(out, 'index.html'), 'utf8')
  const manifestUrl = `${encodedBase}manifest.plist`
  const href = /<a id="install" class="btn" href="([^"]+)" hidden>Install<\/a>/.exec(html)?.[1]
  assert.ok(href, 'an Install button, hidden until the page knows it runs on iOS')
  assert.equal(href, `itms-services://?action=download-manifest&amp;url=${encodeURIComponent(manifestUrl)}`)
  assert.ok(href.includes('My%2520App%2520%25C3%25BC'))
  assert.doesNotMatch(html, /&amp;amp;/)
  assert.equal(new URL(href.replace(/&amp;/g, '&')).searchParams.get('url'), manifestUrl)
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/)

  // Served by nginx with the location block the command printed.
  const location = /^ {2}location .*\{\n(?:.*\n)*? {2}\}$/m.exec(run.stdout)?.[0]
  assert.ok(location, 'an nginx location block in the instructions')
  const ca = join(dir, 'nginx-ca.pem')
  await startNginx(t, { dir, root, port, location, ca })
  const caPem = readFileSync(ca, 'utf8')
  const expected: Array<[string, RegExp, Buffer]> = [
    [manifestUrl, /^text\/xml$/, readFileSync(join(out, 'manifest.plist'))],
    [`${encodedBase}${ipaName}`, /^application\/octet-stream$/, ipaBytes],
    [`${encodedBase}icon.png`, /^image\/png$/, readFileSync(join(out, 'icon.png'))],
    [`${encodedBase}index.html`, /^text\/html/, Buffer.from(html)],
  ]
  for (const [url, type, bytes] of expected) {
    const response = await fetchWithCa(url, caPem)
    assert.equal(response.status, 200, url)
    assert.match(String(response.headers['content-type']), type, url)
    assert.equal(Number(response.headers['content-length']), bytes.length, url)
    assert.ok(response.body.equals(bytes), url)
  }
  const icon = PNG.sync.read(readFileSync(join(out, 'icon.png')))
  assert.equal(icon.width, 152)

  // --check: doctor against the deployment online, as a device (trusting the host's CA) sees it.
  const checked = await airstrip(['export', '--check', '--base-url', baseUrl, '--ca-file', ca, '--now', NOW])
  assert.equal(checked.code, 0, checked.stdout + checked.stderr)
  assert.match(checked.stdout, new RegExp(`^airstrip doctor ${encodedBase.replace(/[.?*+()]/g, '\\$&')}index\\.html$`, 'm'))
  assert.match(checked.stdout, /^\d+ passed, 0 failed, /m)
  assert.doesNotMatch(checked.stdout, /^✗/m)
  assert.doesNotMatch(checked.stdout, /^! manifest-cacheable/m, 'the printed nginx block sends Cache-Control: no-store')
  const untrusted = await airstrip(['export', '--check', '--base-url', baseUrl, '--now', NOW])
  assert.notEqual(untrusted.code, 0, 'a certificate the device does not trust fails the check')

  if (NO_CHROMIUM) return t.diagnostic(NO_CHROMIUM)
  const browser = await launchBrowser()
  t.after(() => browser.close())
  const pageUrl = `${encodedBase}index.html`
  const desktop = await visit(browser, pageUrl, DESKTOP)
  try {
    assert.equal(desktop.status, 200)
    assert.equal(await desktop.page.isVisible('#qr'), true)
    assert.equal(await desktop.page.isVisible('#install'), false)
    assert.ok((await desktop.page.locator('img.icon').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) > 0, 'the icon loads under the CSP')
    const shot = PNG.sync.read(await desktop.page.locator('#qr .code svg').screenshot())
    const decoded = jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height)
    assert.equal(decoded?.data, pageUrl)
    assert.deepEqual(desktop.console.filter((line) => /error|refused|violat/i.test(line)), [])
  } finally {
    await desktop.close()
  }
  const iphone = await visit(browser, pageUrl, IPHONE)
  try {
    assert.equal(await iphone.page.isVisible('#install'), true)
    assert.equal(await iphone.page.isVisible('#qr'), false)
    assert.equal(await iphone.page.getAttribute('#install', 'href'), href.replace(/&amp;/g, '&'))
    assert.deepEqual(iphone.console.filter((line) => /error|refused|violat/i.test(line)), [])
  } finally {
    await iphone.close()
  }
})

test('export refuses what it cannot do and never leaves a half-written folder', async (t) => {
  const dir = tempDir(t)
  const out = join(dir, 'site')
  const base = 'https://cdn.example.com/builds/1.0/'

  const notIpa = await airstrip(['export', fixture('ipa-malformed', 'fastlane-not-an-ipa.ipa'), '--base-url', base, '--out', out])
  assert.equal(notIpa.code, 2)
  assert.match(notIpa.stderr, /^airstrip: not-a-zip: /)
  for (const bad of ['http://cdn.example.com/x/', 'https://cdn.example.com/x/?v=1', 'https://user:pw@cdn.example.com/', 'not a url']) {
    const refused = await airstrip(['export', IPA, '--base-url', bad, '--out', out])
    assert.equal(refused.code, 2, bad)
    assert.match(refused.stderr, /^airstrip: invalid-base-url: /, bad)
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written, no temp folder')

  mkdirSync(out)
  writeFileSync(join(out, 'old.txt'), 'previous deployment')
  const occupied = await airstrip(['export', IPA, '--base-url', base, '--out', out])
  assert.equal(occupied.code, 2)
  assert.match(occupied.stderr, /output-not-empty: .* exists and is not empty \(pass --force to replace it\)/)
  assert.deepEqual(readdirSync(out), ['old.txt'])

  const forced = await airstrip(['export', IPA, '--base-url', base, '--out', out, '--force', '--now', NOW])
  assert.equal(forced.code, 0, forced.stderr)
  assert.deepEqual(readdirSync(out).sort(), ['BitBarSample-1.0.ipa', 'icon.png', 'index.html', 'manifest.plist'])
  assert.deepEqual(readdirSync(dir), ['site'])
  for (const snippet of ['AddType text/xml .plist', 'AddType application/octet-stream .ipa', '--content-type text/xml --cache-control no-store', "s3://YOUR-BUCKET/builds/1.0/BitBarSample-1.0.ipa --content-type application/octet-stream", 'Content-Type: text/xml']) {
    assert.ok(forced.stdout.includes(snippet), snippet)
  }

  assert.equal((await airstrip(['export', IPA, '--out', out])).code, 64, '--base-url is required')
  assert.equal((await airstrip(['export', IPA, '--base-url', base, '--out', join(dir, 'x'), '--now', 'soon'])).code, 64)
})
