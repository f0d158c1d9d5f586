// Several identical Airstrip instances on one PostgreSQL and one S3 bucket (a real Swift s3api
// engine that checks signatures): what one stores, the other serves; local disks hold no data.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { parse as parsePlist } from 'plist'
import { SETTINGS } from '../../src/config.ts'
import type { RawSettings } from '../../src/config.ts'
import { fixture } from '../support/fixtures.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { listAllKeys, s3EngineUnavailable, sharedS3Engine } from '../support/s3-engine.ts'
import { freePort, startServer } from '../support/server.ts'
import type { TestServer } from '../support/server.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { CHECK_IDS } from '../../src/doctor/checks/index.ts'
import { inspectIpa } from '../../src/ipa/inspect.ts'
import { openDatabase } from '../../src/store/database.ts'
import { openSharedDevCertificates } from '../../src/store/tls-records.ts'
import { doctor, pemFile, type DoctorRun } from '../doctor/support/deployment.ts'
import { main } from '../../src/cli/main.ts'

type Manifest = { items: { assets: Record<string, unknown>[]; metadata: Record<string, unknown> }[] }

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
const skip = postgresUnavailable() ?? s3EngineUnavailable() ?? false

/** Settings for instances that share a fresh database and a fresh bucket. */
async function sharedStores(t: TestContext, extra: RawSettings = {}) {
  const [postgres, engine] = await Promise.all([sharedPostgres(), sharedS3Engine()])
  const [databaseUrl, s3] = await Promise.all([postgres.createDatabase(), engine.createBucket()])
  const settings: RawSettings = {
    databaseUrl,
    s3Bucket: s3.bucket,
    s3Endpoint: s3.endpoint ?? undefined,
    s3AccessKeyId: s3.accessKeyId ?? undefined,
    s3SecretAccessKey: s3.secretAccessKey ?? undefined,
    s3PathStyle: true,
    s3Prefix: 'ota/',
    ...extra,
  }
  const keys = () => listAllKeys(engine.client, s3.bucket)
  const uploads = async () => (await engine.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads ?? []
  return { settings, keys, uploads, engine, s3, t }
}

function softwarePackage(manifestXml: string): Record<string, unknown> {
  const manifest = parsePlist(manifestXml) as unknown as Manifest
  const pkg = manifest.items[0]?.assets.find((asset) => asset['kind'] === 'software-package')
  assert.ok(pkg)
  return pkg
}

describe('instances sharing PostgreSQL and S3', { skip }, () => {
  it('serves from one instance what was uploaded through the other, proxied with Range, and deletes everywhere', async (t) => {
    const { settings, keys, uploads } = await sharedStores(t)
    const [a, b] = [await startServer(t, settings), await startServer(t, settings)]
    const path = fixture('ipa', 'appinfo-iphone.ipa')
    const original = readFileSync(path)

    const uploaded = await a.upload(path, { notes: 'via A' })
    assert.equal(uploaded.status, 201, uploaded.text())
    const build = uploaded.json()
    assert.equal(build.sha256, sha256(original))
    const stored = (await keys()).sort()
    assert.ok(stored.includes(`ota/sha256/${build.sha256}`), stored.join())
    assert.ok(stored.every((key) => key.startsWith('ota/sha256/')), `only complete blobs remain: ${stored.join()}`)
    assert.deepEqual(await uploads(), [])

    // B knows the build (same database) and serves everything iOS fetches from the same bucket.
    const seen = await b.request(`${b.url}/api/v1/builds/${build.id}`, { headers: { authorization: `Bearer ${b.apiToken}` } })
    assert.equal(seen.status, 200)
    const viaB = seen.json()
    assert.equal(viaB.notes, 'via A')
    assert.ok(viaB.manifestUrl.startsWith(b.url))
    const page = await b.request(viaB.installPageUrl)
    assert.equal(page.status, 200)
    assert.ok(page.text().includes(build.app.name))
    const manifest = await b.request(viaB.manifestUrl)
    assert.equal(manifest.status, 200)
    const pkg = softwarePackage(manifest.text())
    assert.ok(String(pkg['url']).startsWith(`${b.url}/d/`), 'proxied: the .ipa comes through Airstrip')
    const download = await b.request(String(pkg['url']))
    assert.equal(download.status, 200)
    assert.equal(download.headers['content-length'], String(original.length))
    assert.equal(sha256(download.body), build.sha256)
    const ranged = await b.request(String(pkg['url']), { headers: { range: 'bytes=1000-1999' } })
    assert.equal(ranged.status, 206)
    assert.equal(ranged.headers['content-range'], `bytes 1000-1999/${original.length}`)
    assert.ok(ranged.body.equals(original.subarray(1000, 2000)))
    const tail = await b.request(String(pkg['url']), { headers: { range: 'bytes=-10' } })
    assert.ok(tail.body.equals(original.subarray(-10)))
    if (build.iconSha256 !== null && viaB.iconUrl) assert.equal((await b.request(viaB.iconUrl)).status, 200)
    // Behind a load balancer the installer's next request may land anywhere: A's links work on B.
    const crossed = await b.request(build.manifestUrl.replace(a.url, b.url))
    assert.equal(crossed.status, 200)
    assert.ok(String(softwarePackage(crossed.text())['url']).startsWith(`${b.url}/d/`))

    // Nothing but configuration on the instances' disks.
    for (const server of [a, b]) {
      assert.ok(!existsSync(join(server.dataDir, 'airstrip.db')), 'no SQLite file')
      assert.ok(!existsSync(join(server.dataDir, 'blobs', 'sha256')), 'no local blobs')
    }

    const deleted = await b.request(`${b.url}/api/v1/builds/${build.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${b.apiToken}` } })
    assert.ok(deleted.status === 200 || deleted.status === 204, String(deleted.status))
    assert.deepEqual(await keys(), [], 'the .ipa and icon blobs went with their last build')
    assert.equal((await a.request(`${a.url}/api/v1/builds/${build.id}`, { headers: { authorization: `Bearer ${a.apiToken}` } })).status, 404)
  })

  it('points manifests at presigned object-store URLs that outlive the install links', async (t) => {
    const { settings, engine } = await sharedStores(t)
    const server = await startServer(t, { ...settings, downloads: 'presigned', linkTtlSeconds: '3600' })
    const path = fixture('ipa', 'appinfo-iphone.ipa')
    const original = readFileSync(path)
    const build = (await server.upload(path)).json()
    const manifest = await server.request(build.manifestUrl)
    assert.equal(manifest.status, 200)
    const pkg = softwarePackage(manifest.text())
    const url = new URL(String(pkg['url']))
    assert.equal(url.origin, engine.endpoint, 'the bytes come from the object store, not through Airstrip')
    assert.ok(Number(url.searchParams.get('X-Amz-Expires')) >= 3600, 'no shorter than the install link')
    assert.deepEqual(pkg['sha256s'], [sha256(original)])
    const download = await fetch(url)
    assert.equal(download.status, 200)
    assert.equal(download.headers.get('content-type'), 'application/octet-stream')
    assert.equal(sha256(Buffer.from(await download.arrayBuffer())), build.sha256)
    const ranged = await fetch(url, { headers: { range: 'bytes=0-99' } })
    assert.equal(ranged.status, 206)
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(original.subarray(0, 100)))
  })

  it('shows nothing half-uploaded when an instance dies mid-upload, and another cleans up after it', async (t) => {
    const { settings, keys, uploads } = await sharedStores(t)
    const survivor = await startServer(t, settings)
    // A real `airstrip serve` process, killed with SIGKILL: no chance to abort anything.
    const port = await freePort()
    const env: Record<string, string> = { ...process.env as Record<string, string>, AIRSTRIP_INSECURE_HTTP: 'true', AIRSTRIP_HOST: '127.0.0.1', AIRSTRIP_PORT: String(port), AIRSTRIP_LOG_LEVEL: 'silent', AIRSTRIP_DATA_DIR: join(survivor.dataDir, 'doomed') }
    for (const setting of SETTINGS) if (settings[setting.key] !== undefined) env[setting.env] = String(settings[setting.key])
    const doomed = spawn(process.execPath, ['bin/airstrip.js', 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    t.after(() => doomed.kill('SIGKILL'))
    await waitForHealth(`http://127.0.0.1:${port}/healthz`, doomed)

    const sent = new Promise<void>((resolve, reject) => {
      const upload = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/builds', headers: { authorization: `Bearer ${survivor.apiToken}`, 'content-type': 'application/octet-stream', 'content-length': String(64 * 1024 * 1024) } })
      upload.on('error', () => {})
      upload.on('response', () => reject(new Error('the upload must not complete')))
      // Enough for parts to reach the object store before the process dies (waited for below).
      upload.write(randomBytes(20 * 1024 * 1024), () => resolve())
    })
    await sent
    const staged = async () => (await keys()).length + (await uploads()).length
    for (const deadline = Date.now() + 30_000; (await staged()) === 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.ok(doomed.kill('SIGKILL'))
    await new Promise((resolve) => doomed.once('exit', resolve))

    const listed = await survivor.request(`${survivor.url}/api/v1/builds`, { headers: { authorization: `Bearer ${survivor.apiToken}` } })
    assert.deepEqual(listed.json().builds, [], 'no build recorded')
    assert.deepEqual((await keys()).filter((key) => key.startsWith('ota/sha256/')), [], 'no blob under a content-addressed key')
    const leftovers = (await keys()).length + (await uploads()).length
    assert.ok(leftovers > 0, 'the dead instance left its staging upload behind (it could not abort)')
    // What the next start-up of any instance does (with its usual one-hour threshold).
    assert.ok((await survivor.app.services.blobs.cleanTemp(-60_000)) > 0)
    assert.deepEqual(await keys(), [])
    assert.deepEqual(await uploads(), [])
  })

  it('passes airstrip doctor with downloads proxied, and presigned behind an https CDN', async (t) => {
    const { settings, engine } = await sharedStores(t)
    const { info } = await inspectIpa(DOCTOR_IPA, { sha256: null })
    const udid = info.profile!.provisionedDevices[0]!

    const proxied = await startServer(t, settings)
    const proxiedRun = await doctorAgainst(t, proxied, udid)
    assert.equal(proxiedRun.code, 0, proxiedRun.stderr)
    assertAllPass(proxiedRun)

    // iOS wants https for the .ipa too: an https "CDN" in front of the object store, with the Host
    // header passed through (it is part of what the presigned URL signs).
    const [cdnPort] = await freeLoopbackPorts(1)
    const presigned = await startServer(t, { ...settings, downloads: 'presigned', s3PublicEndpoint: `https://localhost:${cdnPort}` })
    // The dev certificate every instance serves is kept in the shared database, not the data dir.
    const db = await openDatabase(String(settings.databaseUrl))
    const served = (await (await openSharedDevCertificates(db)).read('server'))!
    await db.destroy()
    let cdnRequests = 0
    const cdn = createHttpsServer({ cert: served.certPem, key: served.keyPem }, (req, res) => {
      cdnRequests++
      const upstream = httpRequest(`${engine.endpoint}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => cdn.listen(cdnPort, '127.0.0.1', resolve))
    t.after(() => new Promise((resolve) => cdn.close(resolve)))
    const presignedRun = await doctorAgainst(t, presigned, udid)
    assert.equal(presignedRun.code, 0, presignedRun.stderr)
    assertAllPass(presignedRun)
    assert.match(presignedRun.check('ipa-corrupt').message, /sha256/)
    assert.ok(cdnRequests > 0, 'doctor fetched the .ipa from the CDN')
  })

  it('migrates a SQLite + data-dir installation with airstrip migrate-store, links and tokens intact', async (t) => {
    const { settings, keys } = await sharedStores(t)
    const old = await startServer(t)
    const paths = [fixture('ipa', 'appinfo-iphone.ipa'), fixture('ipa', 'lagunitas-Sample.ipa')]
    const builds = []
    for (const path of paths) builds.push((await old.upload(path)).json())
    const flags = Object.entries(settings).flatMap(([key, value]) => [SETTINGS.find((setting) => setting.key === key)!.flag.split(' ')[0]!, ...(value === true ? [] : [String(value)])])
    const run = async (...args: string[]) => {
      let stdout = ''
      let stderr = ''
      const code = await main(['migrate-store', '--data-dir', old.dataDir, ...args], { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } }, {})
      return { code, stdout, stderr }
    }
    const first = await run(...flags)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /keys carried over: url-signing/)
    assert.match(first.stdout, /builds: [34] blobs copied/)
    const copied = await keys()
    for (const build of builds) assert.ok(copied.includes(`ota/sha256/${build.sha256}`))
    assert.ok(copied.length > builds.length && copied.every((key) => key.startsWith('ota/sha256/')), 'the .ipa files and their icons, nothing staged')

    // The new instance serves the old builds; links minted before the move and the CI token still work.
    const moved = await startServer(t, settings)
    const listed = await moved.request(`${moved.url}/api/v1/builds`, { headers: { authorization: `Bearer ${old.apiToken}` } })
    assert.equal(listed.status, 200)
    assert.deepEqual(listed.json().builds.map((build: { id: string }) => build.id).sort(), builds.map((build) => build.id).sort())
    const manifest = await moved.request(builds[0].manifestUrl.replace(old.url, moved.url))
    assert.equal(manifest.status, 200, 'a link signed before the migration verifies after it')
    const download = await moved.request(String(softwarePackage(manifest.text())['url']))
    assert.equal(sha256(download.body), builds[0].sha256)

    // Again: the database refuses a second copy; the blobs alone are re-verified, not re-sent.
    const again = await run(...flags)
    assert.equal(again.code, 2)
    assert.match(again.stderr, /not empty/)
    const blobsOnly = await run(...flags.filter((flag, i) => !flag.startsWith('--database-url') && flags[i - 1] !== '--database-url'))
    assert.equal(blobsOnly.code, 0, blobsOnly.stderr)
    assert.match(blobsOnly.stdout, /0 blobs copied .*, [34] already there/)

    // A damaged file in the data dir stops the copy before it becomes a blob.
    const { engine } = await sharedStores(t)
    const fresh = await engine.createBucket()
    const key = builds[1].sha256 as string
    const file = join(old.dataDir, 'blobs', 'sha256', key.slice(0, 2), key.slice(2, 4), key)
    const bytes = readFileSync(file)
    bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0xff, bytes.length >> 1)
    writeFileSync(file, bytes)
    const damaged = await run(...flags.filter((flag, i) => !flag.startsWith('--database-url') && flags[i - 1] !== '--database-url').map((flag) => (flag === settings.s3Bucket ? fresh.bucket : flag)))
    assert.notEqual(damaged.code, 0)
    assert.match(damaged.stderr, new RegExp(`blob ${key} in the data dir is damaged`))
    assert.ok(!(await listAllKeys(engine.client, fresh.bucket)).includes(`ota/sha256/${key}`))
  })
})

/** Polls until `url` answers 200, failing fast when the process exits. */
async function waitForHealth(url: string, child: ReturnType<typeof spawn>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`airstrip serve exited with ${child.exitCode}`)
    const ok = await fetch(url).then((response) => response.ok, () => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not come up`)
}

// bitbar-sample-latest-iOS.ipa: a current, Apple-signed development build (profile until 2026-12-26).
const DOCTOR_IPA = fixture('ipa', 'bitbar-sample-latest-iOS.ipa')
const DOCTOR_NOW = '2026-06-01T00:00:00Z'

/** Uploads the doctor fixture through `server` and runs `airstrip doctor` on its install page, trusting the dev CA. */
async function doctorAgainst(t: TestContext, server: TestServer, udid: string): Promise<DoctorRun> {
  server.setNow(new Date(DOCTOR_NOW))
  const upload = await server.upload(DOCTOR_IPA)
  assert.equal(upload.status, 201, upload.text())
  const ca = pemFile(t, `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`)
  return doctor(upload.json<{ installPageUrl: string }>().installPageUrl, '--ca-file', ca, '--now', DOCTOR_NOW, '--udid', udid, '--ios', '17.0')
}

function assertAllPass(run: DoctorRun): void {
  assert.deepEqual(run.checks.map((check) => check.id), [...CHECK_IDS], 'every check reports')
  const notPassing = run.checks.filter((check) => check.status !== 'pass' && check.id !== 'public-url-mismatch')
  assert.deepEqual(notPassing.map((check) => `${check.id}: ${check.status}: ${check.message}`), [])
}
