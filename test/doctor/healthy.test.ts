import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { inspectIpa } from '../../src/ipa/inspect.ts'
import { CHECK_IDS } from '../../src/doctor/checks/index.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer } from '../support/server.ts'
import { chainPem, makePki } from './support/certificates.ts'
import { doctor, layOutSite, pemFile, startDeployment, type DoctorRun } from './support/deployment.ts'

// bitbar-sample-latest-iOS.ipa: a current, Apple-signed development build (profile until 2026-12-26).
const IPA = fixture('ipa', 'bitbar-sample-latest-iOS.ipa')
const NOW = '2026-06-01T00:00:00Z'

function assertAllPass(run: DoctorRun, allowedSkips: string[]): void {
  assert.deepEqual(run.checks.map((c) => c.id), [...CHECK_IDS], 'every check reports, in order')
  const notPassing = run.checks.filter((c) => c.status !== 'pass' && !allowedSkips.includes(c.id))
  assert.deepEqual(notPassing.map((c) => `${c.id}: ${c.status}: ${c.message}`), [])
  for (const id of allowedSkips) assert.equal(run.status(id), 'skip', id)
}

describe('a healthy deployment passes every check', () => {
  it('node https with a CA chain, from the install page, the link and the manifest URL', async (t) => {
    const { info } = await inspectIpa(IPA, { sha256: null })
    const udid = info.profile!.provisionedDevices[0]!
    const pki = await makePki()
    const site = await startDeployment(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem })
    const urls = layOutSite(site, { ipa: readFileSync(IPA), bundleId: info.bundleId, bundleVersion: info.version, title: info.name })
    const ca = pemFile(t, pki.root.certPem)

    const fromPage = await doctor(urls.pageUrl, '--ca-file', ca, '--now', NOW, '--udid', udid, '--ios', '18.5')
    assert.equal(fromPage.code, 0, fromPage.stderr)
    assertAllPass(fromPage, ['public-url-mismatch'])
    assert.match(fromPage.check('tls-untrusted').message, /--ca-file/)
    assert.match(fromPage.check('ipa-corrupt').message, /1 sha256 hash verified/)

    const fromLink = await doctor(urls.link, '--ca-file', ca, '--now', NOW, '--udid', udid, '--ios', '14.0')
    assertAllPass(fromLink, ['page-no-link', 'public-url-mismatch'])
    const fromManifest = await doctor(urls.manifestUrl, '--ca-file', ca, '--now', NOW)
    assertAllPass(fromManifest, ['page-no-link', 'link-malformed', 'device-not-provisioned', 'ios-version-too-old', 'public-url-mismatch'])
    assert.equal(fromManifest.code, 0)

    // Per run: one plain GET as iOS sends it (abandoned after a peek), everything else by Range.
    const plainGets = site.requests.filter((r) => r.url === '/app/App.ipa' && r.method === 'GET' && r.headers.range === undefined)
    assert.equal(plainGets.length, 3)
    assert.ok(plainGets.every((r) => r.headers.cookie === undefined && /^com\.apple\.appstored\//.test(r.headers['user-agent'] ?? '')))
  })

  it('the real Airstrip server, with its dev CA given as --ca-file', async (t) => {
    const server = await startServer(t)
    server.setNow(new Date(NOW))
    const upload = await server.upload(IPA)
    assert.equal(upload.status, 201, upload.text())
    const build = upload.json<{ id: string; installPageUrl: string }>()
    const ca = pemFile(t, `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`)
    const { info } = await inspectIpa(IPA, { sha256: null })

    const run = await doctor(build.installPageUrl, '--ca-file', ca, '--now', NOW, '--udid', info.profile!.provisionedDevices[1]!, '--ios', '17.0')
    assert.equal(run.code, 0, run.stderr)
    assertAllPass(run, ['public-url-mismatch'])

    // Without the dev CA, the same deployment is untrusted: what a phone without the CA profile says.
    const untrusted = await doctor(build.installPageUrl, '--now', NOW)
    assert.equal(untrusted.code, 1)
    assert.equal(untrusted.status('tls-untrusted'), 'fail')
    assert.equal(untrusted.status('manifest-invalid'), 'pass', 'doctor carries on past the TLS failure')
  })

  it('GET /api/v1/doctor runs the same checks against the server itself', async (t) => {
    const server = await startServer(t)
    server.setNow(new Date(NOW))
    const upload = await server.upload(IPA)
    const build = upload.json<{ id: string; installPageUrl: string }>()
    const auth = { authorization: `Bearer ${server.apiToken}` }

    assert.equal((await server.request(`${server.url}/api/v1/doctor`)).status, 401)
    assert.equal((await server.request(`${server.url}/api/v1/doctor?build=nope`, { headers: auth })).status, 404)
    assert.equal((await server.request(`${server.url}/api/v1/doctor?udid=not-a-udid`, { headers: auth })).status, 422)

    const { info } = await inspectIpa(IPA, { sha256: null })
    const response = await server.request(`${server.url}/api/v1/doctor?udid=${info.profile!.provisionedDevices[0]}&ios=18.1`, { headers: auth })
    assert.equal(response.status, 200, response.text())
    const report = response.json<{ target: string; build: string; checks: Array<{ id: string; status: string; message: string; evidence: Record<string, unknown> }> }>()
    assert.equal(report.build, build.id, 'the latest build by default')
    assert.equal(report.target, build.installPageUrl)
    assert.deepEqual(report.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.message}`), [])
    assert.equal(report.checks.find((c) => c.id === 'public-url-mismatch')?.status, 'pass')
    assert.equal(typeof report.checks.find((c) => c.id === 'manifest-content-type')?.evidence['headers'], 'object', 'evidence is serialised')

    // Requests that came through a proxy the server was not told about are flagged.
    const proxied = await server.request(`${server.url}/api/v1/doctor?build=${build.id}`, { headers: { ...auth, 'x-forwarded-host': 'ota.example.com', 'x-forwarded-proto': 'https' } })
    assert.equal(proxied.json<typeof report>().checks.find((c) => c.id === 'public-url-mismatch')?.status, 'warn')

    // A password-protected build's page is a form to an anonymous visitor: the self-check starts
    // from a minted itms-services link instead, and the manifest and .ipa still pass.
    const locked = await server.request(`${server.url}/api/v1/apps/${upload.json<{ app: { id: string } }>().app.id}/access`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ access: 'password', password: 'open sesame' }),
    })
    assert.equal(locked.status, 200, locked.text())
    const privateRun = (await server.request(`${server.url}/api/v1/doctor?build=${build.id}&ios=18.1`, { headers: auth })).json<typeof report>()
    assert.match(privateRun.target, /^itms-services:\/\/\?action=download-manifest&url=https%3A/)
    assert.deepEqual(privateRun.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.message}`), [])
    assert.equal(privateRun.checks.find((c) => c.id === 'ipa-corrupt')?.status, 'pass')
  })
})
