// Every hostile answer to the enrolment callback gets a precise 4xx and stores nothing.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'
import { build } from 'plist'
import type { PlistDict } from '../../src/ipa/types.ts'
import { generateCa, issueServerCertificate } from '../../src/tls/certificate-factory.ts'
import { tempDir } from '../support/fixtures.ts'
import { SAMPLE_UDIDS, signProfile, type SigningIdentity } from '../support/profiles.ts'
import { startServer, type HttpResponse, type TestServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { IPHONE_UA, deviceIdentity, deviceResponse, downloadLink, fetchProfile, postAnswer } from './enrollment-helpers.ts'

const UDID = SAMPLE_UDIDS[1]
const suite = suiteScope()

/** Opens an enrolment (page + profile download) and returns its callback URL and challenge. */
async function openEnrolment(server: TestServer): Promise<{ url: string; challenge: string; profileUrl: string }> {
  const page = await server.request(`${server.url}/enroll`, { headers: { 'user-agent': IPHONE_UA } })
  const profileUrl = downloadLink(page.text())
  const { payload } = await fetchProfile(server, profileUrl, { signed: true })
  const content = payload['PayloadContent'] as PlistDict
  return { url: content['URL'] as string, challenge: content['Challenge'] as string, profileUrl }
}

function openssl(args: string[], input: Buffer | string): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] })
}

async function assertStoredNothing(server: TestServer): Promise<void> {
  assert.deepEqual(await server.app.services.devices.store.listDevices(), [], 'no device stored')
}

function assertRefused(response: HttpResponse, status: number, message: RegExp): void {
  assert.equal(response.status, status, `${status} expected, got ${response.status}: ${response.text()}`)
  assert.match(response.headers['content-type'] ?? '', /^text\/plain/)
  assert.match(response.text(), message)
}

describe('hostile device answers', () => {
  let server: TestServer
  let identity: SigningIdentity
  let enrolment: { url: string; challenge: string; profileUrl: string }
  before(async () => {
    server = await startServer(suite)
    identity = deviceIdentity(suite)
    enrolment = await openEnrolment(server)
  })

  const plistAnswer = (fields: Record<string, unknown>): string => build(fields as Parameters<typeof build>[0])
  const cases: Array<{ name: string; body: () => Buffer | string; type?: string; status: number; message: RegExp }> = [
    { name: 'an empty body', body: () => Buffer.alloc(0), status: 422, message: /the body is empty/ },
    { name: 'random bytes', body: () => Buffer.from('not a CMS envelope at all, just text \u0000\u0001'), status: 422, message: /not DER\/BER|not a CMS ContentInfo/ },
    { name: 'a certificate (DER, but not CMS)', body: () => identity.der, status: 422, message: /not a CMS ContentInfo/ },
    { name: 'a CMS envelope of type data', body: () => openssl(['cms', '-data_create', '-outform', 'DER'], 'hello'), status: 422, message: /content type is 1\.2\.840\.113549\.1\.7\.1, not SignedData/ },
    {
      name: 'a detached signature',
      body: () => openssl(['cms', '-sign', '-binary', '-outform', 'DER', '-signer', identity.certPath, '-inkey', identity.keyPath], plistAnswer({ UDID, CHALLENGE: enrolment.challenge })),
      status: 422,
      message: /carries no content \(detached signature\)/,
    },
    { name: 'signed text that is not a plist', body: () => signProfile('hello, server', identity), status: 422, message: /neither an XML nor a binary property list/ },
    {
      name: 'a plist with an entity declaration (XXE)',
      body: () => signProfile(`<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM "file:///etc/passwd">]><plist version="1.0"><dict><key>UDID</key><string>&x;</string></dict></plist>`, identity),
      status: 422,
      message: /internal subset is not allowed/,
    },
    { name: 'a plist without UDID', body: () => deviceResponse({ PRODUCT: 'iPhone15,2', CHALLENGE: enrolment.challenge }, identity), status: 422, message: /the plist has no UDID/ },
    { name: 'a UDID that is not one', body: () => deviceResponse({ UDID: '1234-not-a-udid', CHALLENGE: enrolment.challenge }, identity), status: 422, message: /"1234-not-a-udid" is not a device UDID/ },
    { name: 'a fake ffffffff UDID', body: () => deviceResponse({ UDID: 'ffffffff' + 'a'.repeat(32), CHALLENGE: enrolment.challenge }, identity), status: 422, message: /is not a device UDID/ },
    { name: 'a UDID that is not a string', body: () => deviceResponse({ UDID: 42, CHALLENGE: enrolment.challenge }, identity), status: 422, message: /the plist has no UDID/ },
    { name: 'a wrong challenge', body: () => deviceResponse({ UDID, CHALLENGE: 'x'.repeat(43) }, identity), status: 403, message: /challenge this enrolment did not issue/ },
    { name: 'no challenge', body: () => deviceResponse({ UDID }, identity), status: 403, message: /carries no CHALLENGE/ },
    { name: 'garbage after the envelope', body: () => Buffer.concat([deviceResponse({ UDID, CHALLENGE: enrolment.challenge }, identity), Buffer.from('trailing')]), status: 422, message: /8 bytes of garbage after the CMS envelope/ },
    { name: 'an oversize body', body: () => Buffer.alloc(70 * 1024, 0x30), status: 413, message: /larger than this server accepts/ },
    { name: 'a text/plain body', body: () => deviceResponse({ UDID, CHALLENGE: enrolment.challenge }, identity), type: 'text/plain', status: 415, message: /must be a CMS SignedData sent as application\/pkcs7-signature \(got text\/plain\)/ },
    { name: 'a JSON body', body: () => JSON.stringify({ UDID, CHALLENGE: enrolment.challenge }), type: 'application/json', status: 415, message: /got application\/json/ },
    { name: 'malformed JSON', body: () => '{"UDID":', type: 'application/json', status: 400, message: /JSON/ },
    { name: 'no content type', body: () => deviceResponse({ UDID, CHALLENGE: enrolment.challenge }, identity), type: '', status: 415, message: /got no content type/ },
  ]
  for (const scenario of cases) {
    test(`refuses ${scenario.name}`, { timeout: 30_000 }, async () => {
      const response = await postAnswer(server, enrolment.url, scenario.body(), scenario.type ?? 'application/pkcs7-signature')
      assertRefused(response, scenario.status, scenario.message)
      await assertStoredNothing(server)
    })
  }

  test('refuses a tampered, a foreign and a wrong-kind token', { timeout: 30_000 }, async () => {
    const body = deviceResponse({ UDID, CHALLENGE: enrolment.challenge }, identity)
    const token = /\/enroll\/([^/]+)\/device$/.exec(enrolment.url)![1]!
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`
    assertRefused(await postAnswer(server, `${server.url}/enroll/${tampered}/device`, body), 403, /the link is invalid \(bad signature\)/)
    const pageToken = /\/enroll\/([^/]+)\/profile\.mobileconfig$/.exec(enrolment.profileUrl)![1]!
    assertRefused(await postAnswer(server, `${server.url}/enroll/${pageToken}/device`, body), 403, /wrong kind/)
    // Correctly signed, for an enrolment that was never opened (or was cleaned up).
    const unknown = server.app.services.signer.sign({ purpose: 'enroll', subject: `c-${'0'.repeat(32)}`, ttlSeconds: 600 })
    assertRefused(await postAnswer(server, `${server.url}/enroll/${unknown}/device`, body), 410, /unknown or was cleaned up/)
    // A manifest token is not an enrolment token.
    const manifest = server.app.services.signer.sign({ purpose: 'manifest', subject: 'abc', ttlSeconds: 600 })
    assertRefused(await postAnswer(server, `${server.url}/enroll/${manifest}/device`, body), 403, /wrong purpose/)
    await assertStoredNothing(server)
  })

  test('refuses an answer after the enrolment expired; the failures above consumed nothing', { timeout: 30_000 }, async () => {
    const body = deviceResponse({ UDID, PRODUCT: 'iPhone17,3', CHALLENGE: enrolment.challenge }, identity)
    server.setNow(new Date(Date.now() + 16 * 60 * 1000))
    try {
      assertRefused(await postAnswer(server, enrolment.url, body), 410, /expired/)
      await assertStoredNothing(server)
    } finally {
      server.setNow(new Date())
    }
    const ok = await postAnswer(server, enrolment.url, body)
    assert.equal(ok.status, 301, ok.text())
    assert.equal((await server.app.services.devices.store.listDevices()).length, 1)
  })

  test('a signature that does not verify is recorded as such (no device CA configured)', { timeout: 30_000 }, async () => {
    const fresh = await openEnrolment(server)
    const body = deviceResponse({ UDID: SAMPLE_UDIDS[0], CHALLENGE: fresh.challenge }, identity)
    body[body.length - 1]! ^= 0xff // the last byte is the signature value's
    const response = await postAnswer(server, fresh.url, body)
    assert.equal(response.status, 301, response.text())
    const device = await server.app.services.devices.store.getDeviceByUdid(SAMPLE_UDIDS[0])
    assert.equal(device?.signatureVerified, false)
    assert.equal(device?.chainVerified, null)
  })
})

describe('with a device CA configured (--device-ca)', () => {
  let server: TestServer
  let caSigned: SigningIdentity
  before(async () => {
    const dir = tempDir(suite)
    // A stand-in for "Apple iPhone Device CA" and a device identity it issued.
    const ca = await generateCa('Test iPhone Device CA', new Date())
    const leaf = await issueServerCertificate(ca, [{ type: 'dns', value: 'device.invalid' }], new Date())
    const caPath = join(dir, 'device-ca.pem')
    writeFileSync(caPath, ca.certPem)
    caSigned = { certPem: leaf.certPem, keyPem: leaf.keyPem, certPath: join(dir, 'leaf.pem'), keyPath: join(dir, 'leaf.key'), der: leaf.certDer }
    writeFileSync(caSigned.certPath, leaf.certPem)
    writeFileSync(caSigned.keyPath, leaf.keyPem)
    server = await startServer(suite, { deviceCa: caPath })
  })

  test('a device whose certificate does not chain to it is refused, and nothing is stored', { timeout: 30_000 }, async () => {
    const { url, challenge } = await openEnrolment(server)
    const selfSigned = deviceIdentity(suite)
    assertRefused(await postAnswer(server, url, deviceResponse({ UDID, CHALLENGE: challenge }, selfSigned)), 422, /not signed by a certificate issued by the configured device CA/)
    const tampered = deviceResponse({ UDID, CHALLENGE: challenge }, caSigned)
    tampered[tampered.length - 1]! ^= 0xff
    assertRefused(await postAnswer(server, url, tampered), 422, /configured device CA/)
    await assertStoredNothing(server)

    const ok = await postAnswer(server, url, deviceResponse({ UDID, CHALLENGE: challenge }, caSigned))
    assert.equal(ok.status, 301, ok.text())
    const device = await server.app.services.devices.store.getDeviceByUdid(UDID)
    assert.equal(device?.signatureVerified, true)
    assert.equal(device?.chainVerified, true)
  })
})
