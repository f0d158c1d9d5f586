// What iOS's installer fetches — manifest, .ipa, icon — over real HTTPS, without cookies.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { get as httpsGet } from 'node:https'
import { join } from 'node:path'
import { test } from 'node:test'
import { parse as parsePlist } from 'plist'
import { PNG } from 'pngjs'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer } from '../support/server.ts'

type Manifest = { items: { assets: Record<string, unknown>[]; metadata: Record<string, unknown> }[] }

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

test('manifests have exactly Apple\'s keys; the .ipa they point at is byte-identical', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t)
  for (const name of readdirSync(fixture('ipa', '')).filter((n) => n.endsWith('.ipa'))) {
    const original = readFileSync(fixture('ipa', name))
    const build = (await server.upload(fixture('ipa', name))).json()
    const response = await server.request(build.manifestUrl)
    assert.equal(response.status, 200)
    assert.equal(response.headers['content-type'], 'text/xml; charset=utf-8')
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.equal(response.body.subarray(0, 5).toString(), '<?xml', 'no BOM, no leading whitespace')
    const manifest = parsePlist(response.text()) as unknown as Manifest
    assert.equal(manifest.items.length, 1)
    const [item] = manifest.items
    assert.deepEqual(Object.keys(item!.metadata).sort(), ['bundle-identifier', 'bundle-version', 'kind', 'title', ...(item!.metadata['subtitle'] ? ['subtitle'] : [])].sort())
    assert.equal(item!.metadata['bundle-identifier'], build.app.bundleId)
    assert.equal(item!.metadata['bundle-version'], build.version ?? build.build)
    assert.equal(item!.metadata['kind'], 'software')
    assert.equal(item!.metadata['title'], build.app.name)
    const pkg = item!.assets.find((a) => a['kind'] === 'software-package')!
    assert.deepEqual(Object.keys(pkg).sort(), ['kind', 'sha256-size', 'sha256s', 'url'])
    assert.equal(pkg['sha256-size'], 10 * 1024 * 1024)
    assert.deepEqual(pkg['sha256s'], [sha256(original)], 'one chunk for files under 10 MiB')
    const download = await server.request(String(pkg['url']))
    assert.equal(download.status, 200)
    assert.equal(download.headers['content-type'], 'application/octet-stream')
    assert.equal(download.headers['content-length'], String(original.length))
    assert.equal(download.headers['content-encoding'], undefined)
    assert.equal(download.headers['accept-ranges'], 'bytes')
    assert.equal(download.headers['set-cookie'], undefined)
    assert.equal(sha256(download.body), sha256(original))
    const images = item!.assets.filter((a) => a['kind'] === 'display-image' || a['kind'] === 'full-size-image')
    if (images.length > 0) {
      assert.equal(images.length, 2)
      const icon = await server.request(String(images[0]!['url']))
      assert.equal(icon.status, 200)
      assert.equal(icon.headers['content-type'], 'image/png')
      const png = PNG.sync.read(icon.body)
      assert.ok(png.width >= 57)
    }
  }
})

test('chunk hashes match independently computed 10 MiB chunks of a 25 MiB build', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  const path = join(tempDir(t), 'big.ipa')
  await buildIpa(path, { files: [{ name: 'payload.bin', data: randomBytes(25 * 1024 * 1024) }] })
  const bytes = readFileSync(path)
  const build = (await server.upload(path)).json()
  const manifest = parsePlist((await server.request(build.manifestUrl)).text()) as unknown as Manifest
  const pkg = manifest.items[0]!.assets.find((a) => a['kind'] === 'software-package')!
  const chunk = 10 * 1024 * 1024
  const expected = []
  for (let at = 0; at < bytes.length; at += chunk) expected.push(sha256(bytes.subarray(at, at + chunk)))
  assert.equal(expected.length, 3)
  assert.deepEqual(pkg['sha256s'], expected)

  const url = String(pkg['url'])
  const cases: [string, number, number, number][] = [
    ['bytes=0-99', 206, 0, 99],
    ['bytes=100-', 206, 100, bytes.length - 1],
    ['bytes=-500', 206, bytes.length - 500, bytes.length - 1],
    [`bytes=${chunk}-${chunk + 12345}`, 206, chunk, chunk + 12345],
    [`bytes=10-${bytes.length + 1000}`, 206, 10, bytes.length - 1],
  ]
  for (const [range, status, start, end] of cases) {
    const response = await server.request(url, { headers: { range } })
    assert.equal(response.status, status, range)
    assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${bytes.length}`)
    assert.equal(response.headers['content-length'], String(end - start + 1))
    assert.ok(response.body.equals(bytes.subarray(start, end + 1)), range)
  }
  const unsatisfiable = await server.request(url, { headers: { range: `bytes=${bytes.length}-` } })
  assert.equal(unsatisfiable.status, 416)
  assert.equal(unsatisfiable.headers['content-range'], `bytes */${bytes.length}`)
  const head = await server.request(url, { method: 'HEAD' })
  assert.equal(head.status, 200)
  assert.equal(head.headers['content-length'], String(bytes.length))
  assert.equal(head.body.length, 0)
  const etag = head.headers.etag!
  assert.equal(etag, `"${sha256(bytes)}"`)
  assert.ok(head.headers['last-modified'])
  assert.equal((await server.request(url, { headers: { 'if-none-match': etag } })).status, 304)
  const staleIfRange = await server.request(url, { headers: { range: 'bytes=0-9', 'if-range': '"other"' } })
  assert.equal(staleIfRange.status, 200)
  assert.equal(staleIfRange.body.length, bytes.length)
})

test('links expire with the clock; tampered or misused tokens fail with a short reason', async (t) => {
  const server = await startServer(t)
  const build = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))).json()
  const manifest = parsePlist((await server.request(build.manifestUrl)).text()) as unknown as Manifest
  const ipaUrl = String(manifest.items[0]!.assets.find((a) => a['kind'] === 'software-package')!['url'])

  const token = new URL(build.manifestUrl).pathname.split('/')[2]!
  const tampered = build.manifestUrl.replace(token, `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`)
  const bad = await server.request(tampered)
  assert.equal(bad.status, 403)
  assert.match(bad.headers['content-type'] ?? '', /^text\/plain/)
  // A manifest token is not an .ipa token.
  const swapped = ipaUrl.replace(/\/d\/[^/]+\//, `/d/${token}/`)
  assert.equal((await server.request(swapped)).status, 403)

  server.setNow(new Date(Date.now() + 25 * 60 * 60 * 1000))
  const expired = await server.request(build.manifestUrl)
  assert.equal(expired.status, 410)
  assert.match(expired.text(), /expired/)
  assert.equal((await server.request(ipaUrl)).status, 410)
})

test('titles with <script>, & and ]]> come out escaped in the manifest and round-trip', async (t) => {
  const server = await startServer(t)
  const path = join(tempDir(t), 'hostile-title.ipa')
  const title = '<script>alert(1)</script> & ]]> "quoted"'
  await buildIpa(path, { info: { CFBundleDisplayName: title } })
  const build = (await server.upload(path)).json()
  const xml = (await server.request(build.manifestUrl)).text()
  assert.ok(!xml.includes('<script>'))
  assert.ok(xml.includes('&lt;script&gt;'))
  const manifest = parsePlist(xml) as unknown as Manifest
  assert.equal(manifest.items[0]!.metadata['title'], title)
})

/** Expiry (unix seconds) inside a signed token: base64url("v1:<purpose>:<subject>:<expiry>").<mac> */
const tokenExpiry = (url: string, marker: string): number => {
  const token = new URL(url).pathname.split('/')[2]!.replace(/\.png$/, '')
  assert.ok(url.includes(marker))
  return Number(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8').split(':')[3])
}

test('manifests are served from a per-window cache: links inside never outlive the TTL; deletion is seen at once', async (t) => {
  const server = await startServer(t)
  const ttl = server.app.services.config.linkTtlSeconds
  const start = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 15_000) // 15 s into a 60 s window
  server.setNow(start)
  const build = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))).json()
  const first = await server.request(build.manifestUrl)
  assert.equal(first.status, 200)
  assert.equal(first.headers['content-length'], String(first.body.length))
  assert.doesNotMatch(String(first.headers['content-security-policy'] ?? ''), /nonce/, 'no nonce where nothing inline is served')
  const ipaUrlOf = (xml: string): string => String((parsePlist(xml) as unknown as Manifest).items[0]!.assets.find((a) => a['kind'] === 'software-package')!['url'])
  const expiry = tokenExpiry(ipaUrlOf(first.text()), '/d/')
  const nowSeconds = start.getTime() / 1000
  assert.ok(expiry <= nowSeconds + ttl, 'never beyond the TTL from now')
  assert.ok(expiry >= nowSeconds + ttl - 60, 'at most one window less')

  server.setNow(new Date(start.getTime() + 20_000))
  assert.ok((await server.request(build.manifestUrl)).body.equals(first.body), 'same window: the same bytes')
  server.setNow(new Date(start.getTime() + 60_000))
  const next = await server.request(build.manifestUrl)
  assert.ok(!next.body.equals(first.body), 'a new window: fresh links')
  const nextIpaUrl = ipaUrlOf(next.text())
  assert.equal(tokenExpiry(nextIpaUrl, '/d/'), expiry + 60)
  assert.equal((await server.request(nextIpaUrl, { method: 'HEAD' })).status, 200)

  const deleted = await server.request(`${server.url}/api/v1/builds/${build.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(deleted.status, 204)
  assert.equal((await server.request(build.manifestUrl)).status, 404, 'not served from the cache once deleted')
})

/** Open descriptors of this process (the server runs in it) that point at `path`. */
const openDescriptors = (path: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path
    } catch {
      return false
    }
  }).length

test('downloads: a client that leaves mid-way releases the file; a crowd of concurrent ones all get every byte', { timeout: 60_000, skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const server = await startServer(t)
  const path = join(tempDir(t), 'crowd.ipa')
  await buildIpa(path, { files: [{ name: 'payload.bin', data: randomBytes(6 * 1024 * 1024) }] })
  const bytes = readFileSync(path)
  const build = (await server.upload(path)).json()
  const manifest = parsePlist((await server.request(build.manifestUrl)).text()) as unknown as Manifest
  const url = new URL(String(manifest.items[0]!.assets.find((a) => a['kind'] === 'software-package')!['url']))
  const blobPath = join(server.dataDir, 'blobs', 'sha256', build.sha256.slice(0, 2), build.sha256.slice(2, 4), build.sha256)
  const ca = server.app.services.devCaDer ? `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n` : undefined

  // Read the first chunk, then cut the connection: the server must close the blob.
  await new Promise<void>((resolve, reject) => {
    const request = httpsGet(url, { ca, agent: false }, (response) => {
      response.once('data', () => {
        assert.ok(openDescriptors(blobPath) >= 1, 'the download reads the blob')
        request.destroy()
        resolve()
      })
    })
    request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
  })
  // The server closes the file just after the last byte or the client's leaving: give it a moment.
  const closedSoon = async (): Promise<number> => {
    for (const deadline = Date.now() + 15_000; openDescriptors(blobPath) > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20))
    return openDescriptors(blobPath)
  }
  assert.equal(await closedSoon(), 0, 'file closed after the client left')

  // More downloads than the buffer budget gives large buffers to: some stream through small ones.
  const crowd = await Promise.all(Array.from({ length: 24 }, () => server.request(url.href)))
  for (const response of crowd) {
    assert.equal(response.status, 200)
    assert.equal(sha256(response.body), sha256(bytes))
  }
  assert.equal(await closedSoon(), 0, 'every download closed its reader')
})
