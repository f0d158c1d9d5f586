// /readyz and /metrics on the real server over HTTPS (dev CA): what each check and counter reports.
import assert from 'node:assert/strict'
import { rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { test } from 'node:test'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer, type TestServer } from '../support/server.ts'

async function ipaUrlOf(server: TestServer, manifestUrl: string): Promise<string> {
  const manifest = (await server.request(manifestUrl)).text()
  return String(/<string>(https:[^<]+\.ipa)<\/string>/.exec(manifest)?.[1]).replaceAll('&amp;', '&')
}

/** One metric's value from the text format, e.g. sample(text, 'airstrip_builds'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('/readyz: database, blob store, disk and certificate checked; 503 naming what fails', async (t) => {
  const server = await startServer(t, { minFreeDisk: '1' })
  const ready = await server.request(`${server.url}/readyz`)
  assert.equal(ready.status, 200)
  assert.equal(ready.headers['cache-control'], 'no-store')
  const body = ready.json()
  assert.equal(body.status, 'ready')
  assert.deepEqual(body.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]), [['database', true], ['blob-store', true], ['disk', true], ['certificate', true]])
  assert.match(body.checks[3].detail, /valid until .* \(dev, issued by Airstrip Development CA/)

  // The blob store's staging folder replaced by a file: uploads would fail, so not ready.
  rmSync(join(server.dataDir, 'blobs', 'tmp'), { recursive: true, force: true })
  writeFileSync(join(server.dataDir, 'blobs', 'tmp'), 'not a folder')
  const broken = await server.request(`${server.url}/readyz`)
  assert.equal(broken.status, 503)
  const failing = broken.json().checks.filter((c: { ok: boolean }) => !c.ok)
  assert.deepEqual(failing.map((c: { name: string }) => c.name), ['blob-store'])
  assert.match(failing[0].detail, /not writable/)
})

test('/readyz fails when free disk is below --min-free-disk', async (t) => {
  const server = await startServer(t, { minFreeDisk: String(Number.MAX_SAFE_INTEGER) })
  const answer = await server.request(`${server.url}/readyz`)
  assert.equal(answer.status, 503)
  const disk = answer.json().checks.find((c: { name: string }) => c.name === 'disk')
  assert.equal(disk.ok, false)
  assert.match(disk.detail, /GiB free, below the .* floor \(--min-free-disk\)/)
})

test('/metrics needs an API token and counts requests, uploads, installs, builds, disk and the certificate', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  assert.equal((await server.request(`${server.url}/metrics`)).status, 401)

  const dir = tempDir(t)
  const big = join(dir, 'big.ipa')
  await buildIpa(big, { files: [{ name: 'payload.bin', data: Buffer.alloc(8 * 1024 * 1024, 1) }] })
  const uploaded = (await server.upload(big)).json()
  assert.equal((await server.upload(fixture('ipa', 'ipaserver-ipa.ipa'))).status, 201)
  const ipaUrl = await ipaUrlOf(server, uploaded.manifestUrl)
  const size = statSync(big).size

  // Three downloads: whole, the final range of a resumed one, and one the client abandons.
  assert.equal((await server.request(ipaUrl)).status, 200)
  assert.equal((await server.request(ipaUrl, { headers: { range: `bytes=${size - 1000}-` } })).status, 206)
  assert.equal((await server.request(ipaUrl, { headers: { range: 'bytes=0-99' } })).status, 206)
  await new Promise<void>((resolve, reject) => {
    const ca = server.app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')
    const req = request(ipaUrl, { ca: `-----BEGIN CERTIFICATE-----\n${ca}\n-----END CERTIFICATE-----\n`, agent: false }, (res) => {
      res.once('data', () => {
        res.destroy()
        resolve()
      })
    })
    req.on('error', reject)
    req.end()
  })
  // One enrolled device (through the device store, as an enrolment completes).
  const devices = server.app.services.devices.store
  await devices.openEnrollment({ id: 'e'.repeat(32), inviteId: null, challengeHash: '00'.repeat(32), expiresAt: new Date(Date.now() + 60_000).toISOString() })
  await devices.completeEnrollment('e'.repeat(32), { udid: 'a'.repeat(40), reportedName: 'Lab iPhone', product: null, modelName: null, family: 'iphone', osVersion: null, serial: null, signatureVerified: true, chainVerified: null })

  // A download is counted completed or aborted when the server sees its last byte leave or the client
  // go, which can be just after the client is done with it: read /metrics until both are in (bounded).
  const metrics = () => server.request(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  const counted = (text: string) => (sample(text, 'airstrip_installs_completed_total') ?? 0) >= 2 && (sample(text, 'airstrip_http_responses_aborted_total{method="GET",route="/d/:token/:file"}') ?? 0) >= 1
  let answer = await metrics()
  for (const deadline = Date.now() + 15_000; answer.status === 200 && !counted(answer.text()) && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    answer = await metrics()
  }
  assert.equal(answer.status, 200)
  assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  const text = answer.text()
  assert.equal(sample(text, 'airstrip_builds'), 2)
  assert.equal(sample(text, 'airstrip_apps'), 2)
  assert.equal(sample(text, 'airstrip_devices'), 1)
  assert.equal(sample(text, 'airstrip_installs_started_total'), 1, 'one manifest fetched')
  assert.equal(sample(text, 'airstrip_installs_completed_total'), 2, 'the whole download and the final range; not the partial or abandoned ones')
  assert.ok(sample(text, 'airstrip_upload_bytes_total')! >= size, 'upload bytes counted')
  assert.equal(sample(text, 'airstrip_http_requests_total{method="POST",route="/api/v1/builds",status="201"}'), 2)
  assert.equal(sample(text, 'airstrip_http_requests_total{method="GET",route="/d/:token/:file",status="206"}'), 2)
  assert.equal(sample(text, 'airstrip_http_responses_aborted_total{method="GET",route="/d/:token/:file"}'), 1)
  assert.match(text, /^airstrip_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/m\/:token\/manifest\.plist"\} \d+$/m)
  assert.ok(sample(text, 'airstrip_disk_bytes{kind="free"}')! > 0)
  assert.ok(sample(text, 'airstrip_disk_bytes{kind="blobs"}')! >= size)
  assert.ok(sample(text, 'airstrip_disk_bytes{kind="database"}')! > 0)
  const notAfter = new Date(statSync(join(server.dataDir, 'certs', 'server.crt')).mtime)
  const expiry = /^airstrip_tls_certificate_expiry_timestamp_seconds\{source="dev",issuer="Airstrip Development CA[^"]*"\} (\d+)$/m.exec(text)
  assert.ok(expiry, 'certificate expiry exported')
  assert.ok(Number(expiry[1]) * 1000 > notAfter.getTime() + 300 * 24 * 3600 * 1000, 'about 397 days after the certificate was made')
  assert.match(text, /^process_cpu_seconds_total \d/m, 'process metrics too')
  // Route patterns only: no signed token ever becomes a label value.
  const token = new URL(ipaUrl).pathname.split('/')[2]!
  assert.ok(!text.includes(token))
})
