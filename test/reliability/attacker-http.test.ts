// The attacker's checklist (issue 9), HTTP items: each test attempts the attack against the real
// server (HTTPS, real sockets, a real SQLite file) and asserts it fails. Items and what is still
// pending are listed in ./attacker/checklist.ts; sessions, login, forms and grants are in attacker-access.test.ts.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect } from 'node:tls'
import { join, relative } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { waitFor } from '../support/notify-peers.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { patchEntryName } from '../support/zip-patch.ts'
import { attempted, recordAttempts } from './attacker/attempts.ts'
import { recordResult } from './support/results.ts'

let server: TestServer
let ca: string
let buildA: { id: string; manifestUrl: string; installPageUrl: string; sha256: string; app: { id: string } }
let buildB: { id: string; manifestUrl: string; sha256: string; app: { id: string } }
let work = ''
/** Cleanups run once every test of the file is done (hooks registered inside `before` would run at its end). */
const cleanups: Array<() => unknown> = []
const suite = { after: (fn: () => unknown) => void cleanups.push(fn) }

/** What must never come back: the database, the signing key, system files. */
function assertNothingLeaked(body: Buffer, what: string): void {
  const text = body.toString('latin1')
  assert.ok(!text.includes('SQLite format 3'), `${what}: the database leaked`)
  assert.ok(!text.includes('root:x:0:0'), `${what}: /etc/passwd leaked`)
  const key = readFileSync(join(server.dataDir, 'url-signing.key'), 'utf8').trim()
  assert.ok(!text.includes(key), `${what}: the URL-signing key leaked`)
}

/** A request with the path sent exactly as given (URL objects would normalise `..` away). */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const { hostname, port } = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: hostname, port, path, ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const ipaUrlIn = (manifest: string): string => /<string>(https:[^<]+\/d\/[^<]+)<\/string>/.exec(manifest)![1]!.replaceAll('&amp;', '&')

before(async () => {
  server = await startServer(suite, { maxUploadBytes: String(64 * 1024 * 1024), webhookAllowPrivateNetworks: false })
  ca = `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`
  work = tempDir(suite, 'airstrip-attacker-')
  const a = join(work, 'a.ipa')
  const b = join(work, 'b.ipa')
  await buildIpa(a, { info: { CFBundleIdentifier: 'com.example.alpha' }, files: [{ name: 'a.bin', data: randomBytes(64 * 1024) }] })
  await buildIpa(b, { info: { CFBundleIdentifier: 'com.example.beta' }, files: [{ name: 'b.bin', data: randomBytes(64 * 1024) }] })
  buildA = (await server.upload(a)).json()
  buildB = (await server.upload(b)).json()
  assert.ok(buildA.id && buildB.id)
})
after(async () => {
  recordAttempts('http')
  for (const cleanup of cleanups.reverse()) await cleanup()
})

test('[path-traversal] every route parameter refuses traversal, encoded or not, and leaks nothing', async () => {
  const probes = ['..%2F..%2Fairstrip.db', '%2e%2e%2f%2e%2e%2furl-signing.key', '..%5C..%5Curl-signing.key', '....%2F%2Furl-signing.key', '%252e%252e%252fairstrip.db', '%2Fetc%2Fpasswd', 'x%00.ipa', '..', '.%2E', '%C0%AE%C0%AE%2F']
  const auth = { authorization: `Bearer ${server.apiToken}` }
  const manifestToken = /\/m\/([^/]+)\//.exec(buildA.manifestUrl)![1]!
  const routes: Array<[string, (p: string) => string, Record<string, string>]> = [
    ['install page', (p) => `/i/${p}`, {}],
    ['app page', (p) => `/apps/${p}`, {}],
    ['manifest', (p) => `/m/${p}/manifest.plist`, {}],
    ['.ipa token', (p) => `/d/${p}/app.ipa`, {}],
    ['icon', (p) => `/icon/${p}`, {}],
    ['enrolment invite', (p) => `/enroll/${p}`, {}],
    ['enrolment profile', (p) => `/enroll/${p}/profile.mobileconfig`, {}],
    ['enrolment result', (p) => `/enroll/${p}/done`, {}],
    ['API build', (p) => `/api/v1/builds/${p}`, auth],
    ['API build devices', (p) => `/api/v1/builds/${p}/devices`, auth],
    ['API app', (p) => `/api/v1/apps/${p}`, auth],
    ['API app notifications', (p) => `/api/v1/apps/${p}/notifications`, auth],
    ['API device', (p) => `/api/v1/devices/${p}`, auth],
    ['API tester', (p) => `/api/v1/testers/${p}`, auth],
    ['API group', (p) => `/api/v1/groups/${p}`, auth],
    ['API webhook', (p) => `/api/v1/webhooks/${p}`, auth],
    ['API delivery', (p) => `/api/v1/deliveries/${p}`, auth],
    ['manifest name', (p) => `/m/${manifestToken}/${p}`, {}],
  ]
  for (const [what, path, headers] of routes) {
    for (const probe of probes) {
      const reply = await rawGet(path(probe), headers)
      attempted('path-traversal')
      assert.ok(reply.status >= 400 && reply.status < 500, `${what} ${path(probe)}: ${reply.status}`)
      assertNothingLeaked(reply.body, `${what} ${path(probe)}`)
    }
  }
  // Raw dot segments, as a hostile client sends them (no normalisation on the way).
  for (const path of ['/../../airstrip.db', '/i/../../url-signing.key', '/d/../../../etc/passwd', '/ca.crt/../airstrip.db', '/%2e%2e/%2e%2e/airstrip.db']) {
    const reply = await rawGet(path)
    attempted('path-traversal')
    assert.ok(reply.status >= 400 && reply.status < 500, `${path}: ${reply.status}`)
    assertNothingLeaked(reply.body, path)
  }
  // The .ipa route's file name is cosmetic: a traversal there still serves that build's own bytes, nothing else.
  const ipaUrl = ipaUrlIn((await server.request(buildA.manifestUrl)).text())
  const tokenPath = new URL(ipaUrl).pathname.replace(/\/[^/]+$/, '')
  for (const name of ['..%2F..%2Fairstrip.db', '..%2F..%2F..%2Fetc%2Fpasswd']) {
    const reply = await rawGet(`${tokenPath}/${name}`)
    attempted('path-traversal')
    assertNothingLeaked(reply.body, `${tokenPath}/${name}`)
    if (reply.status === 200) assert.equal(reply.body.length, statSync(join(work, 'a.ipa')).size)
  }
})

test('[path-traversal] upload file names and archive entry names cannot place files anywhere', async () => {
  const before = listFiles(server.dataDir)
  const path = join(work, 'named.ipa')
  await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.alpha', CFBundleVersion: '2' } })
  const bytes = readFileSync(path)
  const hostileNames = ['../../../outside.ipa', '/tmp/absolute.ipa', '..\\..\\windows.ipa', 'a/../../b.ipa']
  for (const name of hostileNames) {
    const viaQuery = await server.request(`${server.url}/api/v1/builds?fileName=${encodeURIComponent(name)}`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' }, body: bytes })
    const boundary = 'xTRAVERSALx'
    const form = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)])
    const viaForm = await server.request(`${server.url}/api/v1/builds`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, body: form })
    attempted('path-traversal', 2)
    assert.equal(viaQuery.status, 201, viaQuery.text())
    assert.equal(viaForm.status, 201, viaForm.text())
  }
  // Only blob-store files (and the database's own) appeared; nothing beside the data dir.
  const added = listFiles(server.dataDir).filter((p) => !before.includes(p))
  for (const file of added) assert.match(file, /^(blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}|airstrip\.db(-wal|-shm)?)$/, `unexpected file ${file}`)
  for (const escaped of [join(server.dataDir, '..', 'outside.ipa'), join(server.dataDir, '..', '..', 'outside.ipa'), '/tmp/absolute.ipa', join(server.dataDir, 'blobs', '..', 'b.ipa')]) {
    assert.equal(existsSync(escaped), false, `${escaped} was written`)
  }
  // An entry named to escape the archive's folder is refused and nothing is stored.
  const hostile = join(work, 'traversal.ipa')
  await buildIpa(hostile, { info: { CFBundleIdentifier: 'com.example.alpha' }, extraEntries: [{ name: 'Payload/Example.app/zz/zz/evil.txt', data: 'x' }] })
  patchEntryName(hostile, 'Payload/Example.app/zz/zz/evil.txt', 'Payload/Example.app/../../evil.txt')
  const refused = await server.upload(hostile)
  attempted('path-traversal')
  assert.equal(refused.status, 422, refused.text())
})

function listFiles(root: string): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else out.push(relative(root, path))
    }
  }
  try {
    walk(root)
  } catch {
    // A sibling vanished while listing (another test's temp dir): irrelevant here.
  }
  return out
}

test('[token-forgery] signed links: forged, tampered, purpose-swapped and expired links are refused', async () => {
  const manifestUrl = new URL(buildA.manifestUrl)
  const token = /\/m\/([^/]+)\//.exec(manifestUrl.pathname)![1]!
  const [payload, mac] = token.split('.') as [string, string]
  const ipaUrl = ipaUrlIn((await server.request(buildA.manifestUrl)).text())
  const ipaToken = /\/d\/([^/]+)\//.exec(new URL(ipaUrl).pathname)![1]!
  const decoded = Buffer.from(payload, 'base64url').toString()
  const forgedPayload = Buffer.from(decoded.replace(buildA.id, buildB.id)).toString('base64url')
  const longer = Buffer.from(decoded.replace(/:(\d+)(:|$)/, (_m, expiry: string, end: string) => `:${Number(expiry) + 10 * 365 * 86400}${end}`)).toString('base64url')
  const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1)
  const attempts = [
    `${randomBytes(40).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
    `${forgedPayload}.${mac}`,
    `${longer}.${mac}`,
    `${payload}.${flip(mac, 5)}`,
    `${flip(payload, 3)}.${mac}`,
    `${payload}.${mac.slice(0, -1)}`,
    `${payload}.${mac}${mac}`,
    `${payload}`,
    `${payload}.${mac}.`,
  ]
  for (const forged of attempts) {
    const reply = await server.request(`${server.url}/m/${forged}/manifest.plist`)
    attempted('token-forgery')
    assert.ok(reply.status === 403 || reply.status === 400 || reply.status === 404, `forged manifest token ${forged}: ${reply.status}`)
  }
  // Purpose is bound: an .ipa token is no manifest token, a manifest token downloads nothing.
  for (const [path, what] of [[`/m/${ipaToken}/manifest.plist`, 'ipa token as manifest'], [`/d/${token}/app.ipa`, 'manifest token as .ipa'], [`/icon/${token}.png`, 'manifest token as icon'], [`/enroll/${token}/profile.mobileconfig`, 'manifest token as enrolment']] as const) {
    const reply = await server.request(`${server.url}${path}`)
    attempted('token-forgery')
    assert.ok(reply.status === 403 || reply.status === 404 || reply.status === 410, `${what}: ${reply.status}`)
  }
  // Expiry is checked against the server's clock: a day after the link's lifetime, 410; back to now, 200 again.
  server.setNow(new Date(Date.now() + (server.app.services.config.linkTtlSeconds + 60) * 1000))
  try {
    assert.equal((await server.request(buildA.manifestUrl)).status, 410)
    assert.equal((await server.request(ipaUrl, { method: 'HEAD' })).status, 410)
    attempted('token-forgery', 2)
  } finally {
    server.setNow(new Date())
  }
  assert.equal((await server.request(buildA.manifestUrl)).status, 200)
})

test('[token-forgery] API tokens: a tampered token and a revoked token replayed are refused', async () => {
  const created = await server.app.services.meta.createApiToken('to-revoke')
  const url = `${server.url}/api/v1/builds`
  assert.equal((await server.request(url, { headers: { authorization: `Bearer ${created.token}` } })).status, 200)
  const tampered = created.token.slice(0, -1) + (created.token.endsWith('A') ? 'B' : 'A')
  assert.equal((await server.request(url, { headers: { authorization: `Bearer ${tampered}` } })).status, 401)
  await server.app.services.meta.revokeApiToken(created.id)
  const replay = await server.request(url, { headers: { authorization: `Bearer ${created.token}` } })
  attempted('token-forgery', 2)
  assert.equal(replay.status, 401)
  // A revoked personal enrolment link is refused too.
  const invite = (await server.request(`${server.url}/api/v1/devices/invites`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ tester: 'revoked@example.com' }) })).json<{ id: string; url: string }>()
  assert.equal((await server.request(invite.url)).status, 200)
  assert.equal((await server.request(`${server.url}/api/v1/devices/invites/${invite.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${server.apiToken}` } })).status, 204)
  const replayedInvite = await server.request(invite.url)
  attempted('token-forgery')
  assert.equal(replayedInvite.status, 404)
})

test("[cross-app] one build's link never serves another build; an app-bound upload token stays in its app", async () => {
  const ipaA = ipaUrlIn((await server.request(buildA.manifestUrl)).text())
  const ipaB = ipaUrlIn((await server.request(buildB.manifestUrl)).text())
  // A's token under B's file name: A's bytes (the name is cosmetic), never B's.
  const swapped = `${ipaA.replace(/\/[^/]+$/, '')}/${ipaB.split('/').pop()}`
  const reply = await server.request(swapped)
  attempted('cross-app')
  assert.equal(reply.status, 200)
  assert.equal(createHash('sha256').update(reply.body).digest('hex'), buildA.sha256)
  assert.notEqual(buildA.sha256, buildB.sha256)
  // An upload token bound to alpha: beta's .ipa is refused before anything is stored, and the rest of the API is closed.
  const bound = await server.app.services.meta.createApiToken('alpha-ci', { scope: 'upload', bundleId: 'com.example.alpha' })
  const betaBuilds = async (): Promise<number> => (await server.request(`${server.url}/api/v1/builds?appId=${buildB.app.id}`, { headers: { authorization: `Bearer ${server.apiToken}` } })).json<{ builds: unknown[] }>().builds.length
  const countBefore = await betaBuilds()
  const refused = await server.upload(join(work, 'b.ipa'), { token: bound.token })
  attempted('cross-app')
  assert.equal(refused.status, 403, refused.text())
  assert.equal(await betaBuilds(), countBefore, 'nothing stored for beta')
  for (const path of [`/api/v1/builds/${buildB.id}`, `/api/v1/apps/${buildB.app.id}`, '/api/v1/devices', `/api/v1/apps/${buildB.app.id}/webhooks`]) {
    const read = await server.request(`${server.url}${path}`, { headers: { authorization: `Bearer ${bound.token}` } })
    attempted('cross-app')
    assert.equal(read.status, 403, `${path} with an upload-only token: ${read.status}`)
  }
  assert.equal((await server.upload(join(work, 'a.ipa'), { token: bound.token })).status, 201, 'its own app uploads')
})

test('[header-injection] CR/LF, quotes and semicolons in a file name inject nothing', async () => {
  const hostile = 'evil"; filename*=UTF-8\'\'x.sh\r\nX-Injected: yes\r\nSet-Cookie: pwned=1\r\n\r\n<h1>.ipa'
  const path = join(work, 'header.ipa')
  await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.alpha', CFBundleVersion: '9' } })
  const created = await server.request(`${server.url}/api/v1/builds?fileName=${encodeURIComponent(hostile)}`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' }, body: readFileSync(path) })
  attempted('header-injection')
  // Refusing such a name is as good as neutralising it; if stored, every place it surfaces must be inert.
  if (created.status !== 201) return assert.equal(created.status, 400)
  const build = created.json<{ manifestUrl: string; installPageUrl: string }>()
  const manifest = await server.request(build.manifestUrl)
  const ipaUrl = ipaUrlIn(manifest.text())
  assert.doesNotMatch(ipaUrl, /[\r\n"; <>]/, 'the .ipa URL in the manifest is percent-encoded')
  for (const [what, reply] of [['manifest', manifest], ['download', await server.request(ipaUrl)], ['install page', await server.request(build.installPageUrl)], ['API', await server.request(`${server.url}/api/v1/builds`, { headers: { authorization: `Bearer ${server.apiToken}` } })]] as const) {
    attempted('header-injection')
    assert.equal(reply.status, 200, what)
    assert.equal(reply.headers['x-injected'], undefined, `${what}: injected header`)
    assert.ok(!String(reply.headers['set-cookie'] ?? '').includes('pwned'), `${what}: injected cookie`)
    const disposition = reply.headers['content-disposition']
    if (disposition) assert.doesNotMatch(disposition, /[\r\n]|x\.sh/, `${what}: Content-Disposition ${disposition}`)
  }
})

test('[ssrf] webhook URLs into private, loopback, link-local and other reserved ranges are refused', async () => {
  const targets = [
    'http://127.0.0.1/', 'http://127.1/', 'http://0x7f000001/', 'http://2130706433/', 'http://0177.0.0.1/',
    'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://[64:ff9b::7f00:1]/', 'http://[fe80::1]/', 'http://[fc00::1]/',
    'http://10.1.2.3/', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data/', 'http://[fd00:ec2::254]/',
    'http://100.64.0.1/', 'http://0.0.0.0/', 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://198.18.0.1/',
    'file:///etc/passwd', 'gopher://127.0.0.1:25/', 'ftp://example.com/', 'http://user:pass@10.0.0.1/',
  ]
  for (const url of targets) {
    const reply = await server.request(`${server.url}/api/v1/apps/com.example.alpha/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ url }) })
    attempted('ssrf')
    assert.ok(reply.status === 422 || reply.status === 400, `${url}: ${reply.status} ${reply.text()}`)
  }
  // A name that resolves to loopback passes registration (DNS may change) but is refused at connect time: the receiver sees nothing.
  let hits = 0
  const receiver = createHttpServer((_req, res) => {
    hits++
    res.end('ok')
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  try {
    const port = (receiver.address() as { port: number }).port
    const registered = await server.request(`${server.url}/api/v1/apps/com.example.alpha/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://localhost:${port}/hook` }) })
    attempted('ssrf')
    if (registered.status === 201) {
      const path = join(work, 'ssrf.ipa')
      await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.alpha', CFBundleVersion: '77' } })
      const build = (await server.upload(path)).json<{ id: string }>()
      const delivery = await waitFor(async () => {
        const page = (await server.request(`${server.url}/api/v1/deliveries?buildId=${build.id}&channel=webhook`, { headers: { authorization: `Bearer ${server.apiToken}` } })).json<{ deliveries: Array<{ status: string; attempts: number; lastError: string | null }> }>()
        return page.deliveries.find((d) => d.attempts > 0 && d.status !== 'sending')
      }, 'the webhook attempt')
      assert.notEqual(delivery.status, 'delivered')
      assert.match(String(delivery.lastError), /private|loopback|refused|not allowed/i)
    } else {
      assert.equal(registered.status, 422)
    }
    assert.equal(hits, 0, 'the loopback receiver was never reached')
  } finally {
    receiver.close()
  }
  // The escape hatch: an operator who allows private networks can register a LAN receiver.
  const lan = await startServer(suite, { webhookAllowPrivateNetworks: true })
  const allowed = await lan.request(`${lan.url}/api/v1/apps/com.example.alpha/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${lan.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://10.1.2.3/hook' }) })
  assert.equal(allowed.status, 201, allowed.text())
})

test('[oversize] huge headers, URLs and bodies are refused with a status, and the server stays up', async () => {
  const big = await rawGet('/healthz', { 'x-filler': 'a'.repeat(20 * 1024) })
  attempted('oversize')
  assert.equal(big.status, 431)
  const longUrl = await rawGet(`/i/${'a'.repeat(20 * 1024)}`)
  attempted('oversize')
  assert.ok(longUrl.status === 431 || longUrl.status === 414 || longUrl.status === 404 || longUrl.status === 400, `20 KiB URL: ${longUrl.status}`)
  const json = await server.request(`${server.url}/api/v1/testers`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), email: 'big@example.com' }) })
  attempted('oversize')
  assert.equal(json.status, 413)
  // Declared too large: refused from the headers alone, before a byte of the body is read.
  const declared = await new Promise<number>((resolve, reject) => {
    const { hostname, port } = new URL(server.url)
    const req = httpsRequest({ host: hostname, port, path: '/api/v1/builds', method: 'POST', ca, agent: false, headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream', 'content-length': String(65 * 1024 * 1024) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
      req.destroy()
    })
    req.on('error', reject)
    req.write(Buffer.alloc(1024))
  })
  attempted('oversize')
  assert.equal(declared, 413)
  const invite = await server.request(`${server.url}/enroll`, { headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1' } })
  const profileLink = /id="download"[^>]*href="([^"]+)"/.exec(invite.text())?.[1]?.replaceAll('&amp;', '&')
  assert.ok(profileLink, 'the enrolment page links a profile')
  const deviceUrl = profileLink.replace(/\/profile\.mobileconfig$/, '/device')
  const answer = await server.request(deviceUrl, { method: 'POST', headers: { 'content-type': 'application/pkcs7-signature' }, body: Buffer.alloc(70 * 1024, 0x30) })
  attempted('oversize')
  assert.equal(answer.status, 413)
  assert.equal((await server.request(`${server.url}/healthz`)).status, 200)
})

test('[slow-requests] an unauthenticated upload trickling its body is answered at once, without waiting for it', async () => {
  const { hostname, port } = new URL(server.url)
  const started = Date.now()
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: hostname, port, path: '/api/v1/builds', method: 'POST', ca, agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
      req.destroy()
    })
    req.on('error', reject)
    const drip = setInterval(() => req.write(Buffer.alloc(16)), 200)
    req.on('close', () => clearInterval(drip))
  })
  attempted('slow-requests')
  assert.equal(status, 401)
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms, not after the body`)
})

test('[slow-requests] a client trickling its headers is cut off by the headers timeout (15 s)', { timeout: 60_000 }, async () => {
  const { hostname, port } = new URL(server.url)
  const started = Date.now()
  const socket = tlsConnect({ host: hostname, port: Number(port), ca, servername: 'localhost' })
  // The server's close shows up as EPIPE/ECONNRESET on our next drip: that is the expected end.
  socket.on('error', () => {})
  await new Promise((resolve) => socket.once('secureConnect', resolve))
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n')
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const drip = setInterval(() => socket.writable && socket.write('X-Slow: a\r\n'), 5000)
  await Promise.race([closed, sleep(40_000)])
  clearInterval(drip)
  attempted('slow-requests')
  const closedAfterMs = Date.now() - started
  assert.ok(socket.destroyed || socket.closed, 'the connection was closed by the server')
  assert.ok(closedAfterMs >= 14_000 && closedAfterMs < 30_000, `closed after ${closedAfterMs} ms`)
  recordResult('slowloris', { closedAfterMs })
})

test('[brute-force] guessed API tokens and signed links all fail; the real token keeps working', async () => {
  const url = `${server.url}/api/v1/builds`
  for (let i = 0; i < 300; i++) {
    const guess = randomBytes(32).toString('base64url')
    const reply = await server.request(url, { headers: { authorization: `Bearer ${guess}` } })
    assert.equal(reply.status, 401)
  }
  for (let i = 0; i < 200; i++) {
    const reply = await server.request(`${server.url}/m/${randomBytes(30).toString('base64url')}.${randomBytes(32).toString('base64url')}/manifest.plist`)
    assert.equal(reply.status, 403)
  }
  attempted('brute-force', 500)
  assert.equal((await server.request(url, { headers: { authorization: `Bearer ${server.apiToken}` } })).status, 200)
})
