// The upload API over real HTTPS: every valid fixture, hostile files, auth, limits, deletion.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { connect } from 'node:tls'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer, type TestServer } from '../support/server.ts'

const VALID = readdirSync(fixture('ipa', '')).filter((name) => name.endsWith('.ipa'))

/** Every file under the blob store, temp files included. */
function storedFiles(server: TestServer): string[] {
  const walk = (dir: string): string[] => {
    try {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    } catch {
      return []
    }
  }
  return walk(join(server.dataDir, 'blobs'))
}

test('every valid fixture uploads and answers with its facts and working links', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t)
  assert.ok(VALID.length >= 10)
  for (const name of VALID) {
    const path = fixture('ipa', name)
    const response = await server.upload(path, { notes: `notes for ${name}` })
    assert.equal(response.status, 201, `${name}: ${response.text()}`)
    const body = response.json()
    assert.match(body.id, /^[A-Za-z0-9_-]{22}$/)
    assert.equal(body.size, statSync(path).size)
    assert.equal(body.sha256, createHash('sha256').update(readFileSync(path)).digest('hex'))
    assert.equal(body.notes, `notes for ${name}`)
    assert.ok(body.app.bundleId.length > 0)
    assert.equal(body.installPageUrl, `${server.url}/i/${body.id}`)
    assert.match(body.manifestUrl, new RegExp(`^${server.url}/m/[A-Za-z0-9_.-]+/manifest\\.plist$`))
    assert.equal(new URL(body.itmsServicesUrl).searchParams.get('url'), body.manifestUrl)
    assert.ok(Array.isArray(body.problems))
    const shown = await server.request(`${server.url}/api/v1/builds/${body.id}`, { headers: { authorization: `Bearer ${server.apiToken}` } })
    assert.equal(shown.json().sha256, body.sha256)
  }
  const list = await server.request(`${server.url}/api/v1/builds?limit=200`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(list.json().builds.length, VALID.length)
  const apps = await server.request(`${server.url}/api/v1/apps`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  // The two ipametadata fixtures share a bundle id: one app, two builds.
  assert.equal(apps.json().apps.length, VALID.length - 1)
})

test('multipart uploads work too, with notes as a field', async (t) => {
  const server = await startServer(t)
  const ipa = readFileSync(fixture('ipa', 'appinfo-iphone.ipa'))
  const boundary = '----airstrip-test-boundary'
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="notes"\r\n\r\nFixed the <login> bug & more\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="AppInfo.ipa"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    ipa,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  const response = await server.request(`${server.url}/api/v1/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  })
  assert.equal(response.status, 201, response.text())
  assert.equal(response.json().notes, 'Fixed the <login> bug & more')
  assert.equal(response.json().app.bundleId, 'com.icyleaf.AppInfoDemo')
})

test('no token, a wrong token, a revoked token: 401 with a JSON error', async (t) => {
  const server = await startServer(t)
  for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
    const response = await server.request(`${server.url}/api/v1/builds`, { headers })
    assert.equal(response.status, 401)
    assert.equal(response.json().error, 'unauthorized')
  }
  const extra = await server.app.services.meta.createApiToken('temporary')
  assert.equal((await server.upload(fixture('ipa', 'appinfo-iphone.ipa'), { token: extra.token })).status, 201)
  await server.app.services.meta.revokeApiToken(extra.id)
  assert.equal((await server.upload(fixture('ipa', 'appinfo-iphone.ipa'), { token: extra.token })).status, 401)
})

test('hostile and unusable files get their 4xx code; the server stays up and stores nothing', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  const dir = tempDir(t)
  const xxe = join(dir, 'xxe.ipa')
  await buildIpa(xxe, { infoPlistBytes: Buffer.from('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><plist><dict><key>CFBundleIdentifier</key><string>&x;</string></dict></plist>') })
  const cases: [string, number, string][] = [
    [fixture('ipa-malformed', 'fastlane-not-an-ipa.ipa'), 422, 'not-a-zip'],
    [fixture('ipa-malformed', 'fastlane-no-app-bundle.ipa'), 422, 'no-app-bundle'],
    [fixture('ipa-malformed', 'fastlane-with_no_swift.ipa'), 422, 'no-info-plist'],
    [fixture('ipa-malformed', 'fastlane-ContainsWatchApp.ipa'), 422, 'no-app-bundle'],
    [fixture('misc', 'UIKitCatalog-iphonesimulator.zip'), 422, 'no-app-bundle'],
    [fixture('mobileprovision', 'appinfo-invalid_empty.mobileprovision'), 422, 'not-a-zip'],
    [xxe, 422, 'invalid-info-plist'],
  ]
  for (const [path, status, code] of cases) {
    const response = await server.upload(path)
    assert.equal(response.status, status, `${path}: ${response.text()}`)
    assert.equal(response.json().error, code)
    assert.ok(response.json().message.length > 0)
  }
  const list = await server.request(`${server.url}/api/v1/builds`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.deepEqual(list.json().builds, [])
  assert.deepEqual(storedFiles(server), [])
  assert.equal((await server.request(`${server.url}/healthz`)).status, 200)
})

test('uploads over the size limit get 413 and leave nothing behind', async (t) => {
  const server = await startServer(t, { maxUploadBytes: '10000' })
  const response = await server.upload(fixture('ipa', 'appinfo-iphone.ipa'))
  assert.equal(response.status, 413)
  assert.equal(response.json().error, 'upload-too-large')
  assert.deepEqual(storedFiles(server), [])
})

test('a client that disconnects mid-upload leaves no build and no temp file', async (t) => {
  const server = await startServer(t)
  const port = new URL(server.url).port
  const ipa = readFileSync(fixture('ipa', 'bitbar-BitBarSampleApp.ipa'))
  const ca = server.app.services.devCaDer!
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), servername: 'localhost', ca: `-----BEGIN CERTIFICATE-----\n${ca.toString('base64')}\n-----END CERTIFICATE-----\n` }, () => {
      socket.write(
        `POST /api/v1/builds HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: Bearer ${server.apiToken}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${ipa.length}\r\n\r\n`,
      )
      socket.write(ipa.subarray(0, ipa.length / 2), () => setTimeout(() => (socket.destroy(), resolve()), 200))
    })
    socket.on('error', reject)
  })
  // Give the server a moment to notice and clean up.
  for (const deadline = Date.now() + 15_000; storedFiles(server).length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50))
  assert.deepEqual(storedFiles(server), [])
  const list = await server.request(`${server.url}/api/v1/builds`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.deepEqual(list.json().builds, [])
})

test('identical uploads share one blob; deleting the last build removes it', async (t) => {
  const server = await startServer(t)
  const path = fixture('ipa', 'lagunitas-Sample.ipa')
  const first = (await server.upload(path)).json()
  const second = (await server.upload(path)).json()
  assert.notEqual(first.id, second.id)
  const sha = createHash('sha256').update(readFileSync(path)).digest('hex')
  const ipaBlobs = () => storedFiles(server).filter((f) => f.endsWith(sha))
  assert.equal(ipaBlobs().length, 1)
  const auth = { authorization: `Bearer ${server.apiToken}` }
  assert.equal((await server.request(`${server.url}/api/v1/builds/${first.id}`, { method: 'DELETE', headers: auth })).status, 204)
  assert.equal(ipaBlobs().length, 1, 'still referenced by the second build')
  assert.equal((await server.request(`${server.url}/api/v1/builds/${second.id}`, { method: 'DELETE', headers: auth })).status, 204)
  assert.equal(ipaBlobs().length, 0)
  assert.equal((await server.request(`${server.url}/api/v1/builds/${second.id}`, { headers: auth })).json().error, 'build-not-found')
})

test('the OpenAPI document describes the upload endpoint', async (t) => {
  const server = await startServer(t)
  const response = await server.request(`${server.url}/api/openapi.json`)
  assert.equal(response.status, 200)
  const document = response.json()
  assert.ok(document.paths['/api/v1/builds'].post)
  assert.ok(document.paths['/api/v1/builds/{id}'].get)
  assert.equal((await server.request(`${server.url}/api/docs/`)).status, 200)
})
