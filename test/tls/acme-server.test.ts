// Automatic HTTPS against a real ACME CA: Debian's pebble on loopback validates real HTTP-01 and
// TLS-ALPN-01 challenges against Airstrip's own ports.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect, type PeerCertificate } from 'node:tls'
import { createApp, type App } from '../../src/app.ts'
import { loadConfig, type RawSettings } from '../../src/config.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startPebble, type Pebble } from '../support/pebble.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { UA } from '../web/browser.ts'

interface AcmeTestServer {
  app: App
  config: ReturnType<typeof loadConfig>
  pebble: Pebble
  url: string
  httpsPort: number
  httpPort: number
  dataDir: string
}

/** pebble + Airstrip with --domain localhost, each on free loopback ports, pebble validating against Airstrip's. */
async function startAcme(t: { after(fn: () => unknown): void }, options: { validitySeconds?: number; httpChallenges?: boolean; dataDir?: string; settings?: RawSettings } = {}): Promise<AcmeTestServer> {
  const [httpsPort, httpPort] = (await freeLoopbackPorts(2)) as [number, number]
  const pebble = await startPebble(t, { httpPort, tlsPort: httpsPort, ...(options.validitySeconds ? { validitySeconds: options.validitySeconds } : {}) })
  const dataDir = options.dataDir ?? tempDir(t, 'airstrip-acme-')
  const config = loadConfig({
    host: '127.0.0.1',
    port: String(httpsPort),
    httpPort: String(options.httpChallenges === false ? 0 : httpPort),
    dataDir,
    domain: 'localhost',
    acmeDirectory: pebble.directoryUrl,
    acmeCaRoot: pebble.wfeCaPath,
    acmeEmail: 'ops@example.com',
    logLevel: 'silent',
    minFreeDisk: '1',
    ...options.settings,
  })
  const app = await listening(t, config)
  return { app, config, pebble, url: config.publicUrl, httpsPort, httpPort, dataDir }
}

async function listening(t: { after(fn: () => unknown): void }, config: ReturnType<typeof loadConfig>): Promise<App> {
  const app = await createApp(config)
  await app.server.listen({ host: config.host, port: config.port })
  let closed = false
  const close = app.close
  app.close = async () => {
    if (!closed) await close()
    closed = true
  }
  t.after(() => app.close())
  return app
}

/** Waits until a certificate from the CA is in service. */
async function certified(server: AcmeTestServer, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (server.app.services.ops.tls.state().certificate?.source !== 'acme') {
    if (Date.now() > deadline) throw new Error(`no certificate: ${JSON.stringify(server.app.services.ops.tls.state().renewal)}\n${server.pebble.output()}`)
    await sleep(50)
  }
}

/** The certificate a fresh TLS handshake gets, verified against `ca` for the name "localhost". */
function servedCertificate(port: number, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      const peer = socket.getPeerCertificate(true)
      socket.end()
      resolve(peer)
    })
    socket.on('error', reject)
  })
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

function get(url: string, options: { ca?: string; method?: string; headers?: Record<string, string>; body?: () => NodeJS.ReadableStream } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    const req = send(url, { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, agent: false, lookup: localhost }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (options.body) pipeline(options.body(), req).catch(reject)
    else req.end()
  })
}

/** "localhost" always to 127.0.0.1 (the servers listen on IPv4 only). */
function localhost(_host: string, options: object, callback: (...args: any[]) => void): void {
  if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }])
  else callback(null, '127.0.0.1', 4)
}

test('obtains a certificate over HTTP-01 and serves a chain that verifies against pebble\'s root', { timeout: 60_000 }, async (t) => {
  const server = await startAcme(t)
  assert.equal(server.url, `https://localhost:${server.httpsPort}`)
  await certified(server)
  const root = await server.pebble.rootPem()

  const peer = await servedCertificate(server.httpsPort, root)
  assert.match(peer.subjectaltname ?? '', /DNS:localhost/)
  assert.match(String(peer.issuer.CN), /Pebble Intermediate/)
  // The full chain is sent: the leaf's issuer is pebble's intermediate, which the root signed.
  const intermediate = new X509Certificate(await server.pebble.intermediatePem())
  assert.ok(new X509Certificate(peer.raw).checkIssued(intermediate))
  assert.ok(intermediate.verify(new X509Certificate(root).publicKey))

  // Account key and certificate are in the data dir, private.
  const acmeDir = join(server.dataDir, 'certs', 'acme')
  const [caFolder] = readdirSync(acmeDir)
  const files = ['account.key', 'account.json', 'localhost/cert.pem', 'localhost/key.pem'].map((name) => join(acmeDir, caFolder!, name))
  for (const file of files) assert.equal(statSync(file).mode & 0o777, 0o600, file)
  assert.equal(new X509Certificate(readFileSync(files[2]!)).serialNumber, new X509Certificate(peer.raw).serialNumber)

  const ready = await get(`${server.url}/readyz`, { ca: root })
  assert.equal(ready.status, 200, ready.body.toString())
  assert.deepEqual(JSON.parse(ready.body.toString()).warnings, [])
  const hsts = await get(`${server.url}/healthz`, { ca: root })
  assert.match(String(hsts.headers['strict-transport-security']), /max-age=\d+/)
})

test('port 80 redirects to the HTTPS public URL, except ACME challenge paths', { timeout: 60_000 }, async (t) => {
  const server = await startAcme(t)
  await certified(server)
  const base = `http://127.0.0.1:${server.httpPort}`
  const page = await get(`${base}/i/abc?x=1`, { headers: { host: 'evil.example' } })
  assert.equal(page.status, 301)
  assert.equal(page.headers['location'], `${server.url}/i/abc?x=1`, 'the origin comes from the public URL, never the Host header')
  const post = await get(`${base}/api/v1/builds`, { method: 'POST' })
  assert.equal(post.status, 308)
  assert.equal((await get(`${base}//evil.example/x`)).headers['location'], `${server.url}/`, 'no protocol-relative open redirect')
  const unknown = await get(`${base}/.well-known/acme-challenge/unknown-token`)
  assert.equal(unknown.status, 404)
  assert.equal(unknown.headers['location'], undefined)
})

test('renews short-lived certificates in the background and swaps them in without a restart or a broken download', { timeout: 90_000 }, async (t) => {
  // pebble issues 12-second certificates: renewal is due after 4 s, with a third of the lifetime left.
  const server = await startAcme(t, { validitySeconds: 12 })
  await certified(server)
  const root = await server.pebble.rootPem()
  const first = await servedCertificate(server.httpsPort, root)

  // A large build, downloaded slowly across a forced renewal.
  const dir = tempDir(t)
  const ipa = join(dir, 'big.ipa')
  await buildIpa(ipa, { files: [{ name: 'payload.bin', data: Buffer.alloc(24 * 1024 * 1024, 7) }] })
  const { token } = await server.app.services.meta.createApiToken('ci')
  const upload = await get(`${server.url}/api/v1/builds`, {
    ca: root,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(ipa).size) },
    body: () => createReadStream(ipa),
  })
  assert.equal(upload.status, 201, upload.body.toString())
  const manifest = await get(JSON.parse(upload.body.toString()).manifestUrl, { ca: root })
  const ipaUrl = String(/<string>(https:[^<]+\.ipa)<\/string>/.exec(manifest.body.toString())?.[1]).replaceAll('&amp;', '&')

  const received: Buffer[] = []
  let download!: import('node:http').IncomingMessage
  const downloadDone = new Promise<void>((resolve, reject) => {
    httpsRequest(ipaUrl, { ca: root, agent: false, lookup: localhost }, (res) => {
      download = res
      res.on('data', (chunk: Buffer) => received.push(chunk))
      res.on('end', resolve)
      res.on('error', reject)
      res.pause()
    })
      .on('error', reject)
      .end()
  })
  while (!download) await sleep(10)
  // Some of it (a first chunk), not a time's worth: on a fast machine 20 ms could be all of it.
  const someArrived = new Promise((resolve) => download.once('data', resolve))
  download.resume()
  await someArrived
  download.pause()
  const partWay = received.reduce((n, b) => n + b.length, 0)
  assert.ok(partWay < statSync(ipa).size, 'the download is still in progress')

  assert.equal(await server.app.services.ops.acme!.renewNow(), true)
  const second = await servedCertificate(server.httpsPort, root)
  assert.notEqual(second.serialNumber, first.serialNumber, 'new handshakes get the renewed certificate')

  download.resume()
  await downloadDone
  assert.ok(Buffer.concat(received).equals(readFileSync(ipa)), 'the download that spanned the renewal is byte-identical')

  // Left alone, the background schedule renews again once a third of the lifetime is left.
  const renewedAt = server.app.services.ops.tls.state().renewal!.lastSuccessAt!
  const deadline = Date.now() + 15_000
  while (server.app.services.ops.tls.state().renewal!.lastSuccessAt! <= renewedAt) {
    assert.ok(Date.now() < deadline, 'the scheduled renewal happened')
    await sleep(200)
  }
  const third = await servedCertificate(server.httpsPort, root)
  assert.notEqual(third.serialNumber, second.serialNumber)
  const state = server.app.services.ops.tls.state()
  const lifetime = state.certificate!.notAfter.getTime() - state.certificate!.notBefore.getTime()
  assert.ok(lifetime <= 12_000, `short-lived certificate (${lifetime} ms)`)
})

test('CA down: the current certificate stays in service, readiness warns, metrics count the failures', { timeout: 60_000 }, async (t) => {
  const server = await startAcme(t)
  await certified(server)
  const root = await server.pebble.rootPem()
  const before = await servedCertificate(server.httpsPort, root)
  await server.pebble.stop()

  assert.equal(await server.app.services.ops.acme!.renewNow(), false)
  const renewal = server.app.services.ops.tls.state().renewal!
  assert.equal(renewal.consecutiveFailures, 1)
  assert.match(renewal.lastError ?? '', /cannot be reached/)
  assert.ok(renewal.nextAttemptAt, 'a retry is scheduled')

  const after = await servedCertificate(server.httpsPort, root)
  assert.equal(after.serialNumber, before.serialNumber)
  const ready = await get(`${server.url}/readyz`, { ca: root })
  assert.equal(ready.status, 200, 'still ready: the certificate in service is valid')
  const report = JSON.parse(ready.body.toString())
  assert.match(report.warnings[0], /certificate renewal failing \(1 attempt in a row\)/)
  const { token } = await server.app.services.meta.createApiToken('prometheus')
  const metrics = (await get(`${server.url}/metrics`, { ca: root, headers: { authorization: `Bearer ${token}` } })).body.toString()
  assert.match(metrics, /^airstrip_tls_certificate_renewal_failures 1$/m)
  assert.match(metrics, new RegExp(`^airstrip_tls_certificate_expiry_timestamp_seconds\\{source="acme",issuer="Pebble Intermediate CA [0-9a-f]+"\\} ${Math.floor(new Date(after.valid_to).getTime() / 1000)}$`, 'm'))
})

test('TLS-ALPN-01 on the HTTPS port gets a certificate when there is no plain-HTTP port', { timeout: 60_000 }, async (t) => {
  const server = await startAcme(t, { httpChallenges: false })
  await certified(server)
  const peer = await servedCertificate(server.httpsPort, await server.pebble.rootPem())
  assert.match(peer.subjectaltname ?? '', /DNS:localhost/)
  // Ordinary clients still speak HTTP/1.1 over the same port.
  const health = await get(`${server.url}/healthz`, { ca: await server.pebble.rootPem() })
  assert.equal(health.status, 200)
})

test('a restart serves the stored certificate at once, without a new order', { timeout: 60_000 }, async (t) => {
  const first = await startAcme(t)
  await certified(first)
  const serial = first.app.services.ops.tls.state().certificate!.notAfter
  const root = await first.pebble.rootPem()
  const served = await servedCertificate(first.httpsPort, root)
  await first.app.close()
  await first.pebble.stop()

  // The same configuration again, with the CA gone: the stored certificate is current, so it is served as is.
  const second = await listening(t, first.config)
  const state = second.services.ops.tls.state()
  assert.equal(state.certificate?.source, 'acme')
  assert.equal(state.certificate?.notAfter.getTime(), serial.getTime())
  assert.equal(state.renewal?.lastAttemptAt, null, 'not due: no order placed')
  assert.equal((await servedCertificate(first.httpsPort, root)).serialNumber, served.serialNumber)
})

/** openssl's view of a profile: the payload when the CMS verifies against `rootPem`, and the signer's certificate. */
function verifyProfile(t: { after(fn: () => unknown): void }, body: Buffer, rootPem: string): { payload: string; signer: X509Certificate } {
  const dir = tempDir(t, 'airstrip-acme-cms-')
  writeFileSync(join(dir, 'root.pem'), rootPem)
  const payload = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-CAfile', join(dir, 'root.pem'), '-purpose', 'any', '-signer', join(dir, 'signer.pem')], { input: body, stdio: ['pipe', 'pipe', 'pipe'] })
  return { payload: payload.toString('utf8'), signer: new X509Certificate(readFileSync(join(dir, 'signer.pem'))) }
}

test('enrolment profiles are CMS-signed with the ACME certificate in service, renewed ones included', { timeout: 60_000 }, async (t) => {
  const server = await startAcme(t)
  await certified(server)
  const root = await server.pebble.rootPem()
  const profile = async (): Promise<Buffer> => {
    const answer = await get(server.app.services.devices.startEnrollment(null).profileUrl, { ca: root, headers: { 'user-agent': UA.iphone } })
    assert.equal(answer.status, 200, answer.body.toString())
    assert.equal(answer.headers['content-type'], 'application/x-apple-aspen-config')
    return answer.body
  }
  assert.equal(server.app.services.devices.profilesSigned(), true)

  const first = await servedCertificate(server.httpsPort, root)
  const signed = verifyProfile(t, await profile(), root)
  assert.match(signed.payload, /<string>Profile Service<\/string>/)
  assert.equal(signed.signer.serialNumber, new X509Certificate(first.raw).serialNumber, 'the signer is the served ACME leaf')

  assert.equal(await server.app.services.ops.acme!.renewNow(), true)
  const second = await servedCertificate(server.httpsPort, root)
  assert.notEqual(second.serialNumber, first.serialNumber)
  assert.equal(verifyProfile(t, await profile(), root).signer.serialNumber, new X509Certificate(second.raw).serialNumber, 'after a renewal, the new leaf signs')
})
