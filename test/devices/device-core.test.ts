// The pure parts of devices/: UDIDs, models, the Profile Service payload, CMS signing and reading,
// installability, cookies.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import 'reflect-metadata' // tsyringe (inside @peculiar/x509) needs the Reflect metadata API loaded first
import * as x509 from '@peculiar/x509'
import { createCmsSigner } from '../../src/devices/cms-signer.ts'
import { describeModel } from '../../src/devices/device-models.ts'
import { readDeviceResponse } from '../../src/devices/device-response.ts'
import { deviceCookieHeader, readCookie } from '../../src/devices/device-cookie.ts'
import { buildProfileServicePayload, enrolmentProfileIdentifier } from '../../src/devices/profile-service.ts'
import { deviceProfileCheck, installabilityFor } from '../../src/devices/provisioning.ts'
import { normalizeUdid, profileListsUdid } from '../../src/devices/udid.ts'
import { isAirstripError } from '../../src/errors.ts'
import { parsePlistDict } from '../../src/ipa/plist.ts'
import type { IpaInfo, ProvisioningProfile } from '../../src/ipa/types.ts'
import { tempDir } from '../support/fixtures.ts'
import { SAMPLE_UDIDS, createSigningIdentity, signProfile } from '../support/profiles.ts'
import { sampleBuild } from '../store/meta-store-adapters.ts'

describe('UDIDs', () => {
  it('accepts both forms in Apple\'s spelling and refuses the rest', () => {
    assert.equal(normalizeUdid(' 0123456789ABCDEF0123456789abcdef01234567 '), '0123456789abcdef0123456789abcdef01234567')
    assert.equal(normalizeUdid('00008030-001a2b3c4d5e6f70'), '00008030-001A2B3C4D5E6F70')
    for (const bad of ['', '1234', '00008030001A2B3C4D5E6F70', '00008030-001A2B3C4D5E6F7', 'g'.repeat(40), 'ffffffff' + '0'.repeat(32), 'FFFFFFFF-0000000000000000', '0123456789abcdef0123456789abcdef01234567\n0']) {
      assert.equal(normalizeUdid(bad), null, bad)
    }
  })
  it('compares with ProvisionedDevices regardless of case', () => {
    assert.ok(profileListsUdid(['00008030-001a2b3c4d5e6f70'], '00008030-001A2B3C4D5E6F70'))
    assert.ok(!profileListsUdid([SAMPLE_UDIDS[0]], SAMPLE_UDIDS[1]))
  })
})

describe('models', () => {
  it('names known identifiers and keeps the family of unknown ones', () => {
    assert.deepEqual(describeModel('iPhone15,2'), { product: 'iPhone15,2', name: 'iPhone 14 Pro', family: 'iphone' })
    assert.deepEqual(describeModel('iPad13,18'), { product: 'iPad13,18', name: 'iPad (10th generation)', family: 'ipad' })
    assert.deepEqual(describeModel('iPhone99,9'), { product: 'iPhone99,9', name: 'iPhone', family: 'iphone' })
    assert.deepEqual(describeModel('Watch6,1'), { product: 'Watch6,1', name: 'Apple Watch', family: 'watch' })
    assert.deepEqual(describeModel('toaster'), { product: 'toaster', name: null, family: 'unknown' })
    assert.deepEqual(describeModel(null), { product: null, name: null, family: 'unknown' })
  })
})

describe('the Profile Service payload', () => {
  it('is a standalone Profile Service dictionary, escaped by the plist builder', () => {
    const xml = buildProfileServicePayload({ callbackUrl: 'https://ota.example.com/enroll/t0k/device', challenge: 'c-1', displayName: 'A <b> & "c"', organization: 'O & O', identifier: 'com.example.ota.airstrip.enroll', uuid: 'U-1' })
    assert.ok(!xml.includes('<b>'))
    assert.deepEqual(parsePlistDict(Buffer.from(xml)), {
      PayloadType: 'Profile Service',
      PayloadVersion: 1,
      PayloadIdentifier: 'com.example.ota.airstrip.enroll',
      PayloadUUID: 'U-1',
      PayloadDisplayName: 'A <b> & "c"',
      PayloadOrganization: 'O & O',
      PayloadDescription: "Sends this device's identifier (UDID), model, iOS build, serial number and name to O & O once, so test builds can include it. Nothing stays installed.",
      PayloadContent: { URL: 'https://ota.example.com/enroll/t0k/device', DeviceAttributes: ['UDID', 'PRODUCT', 'VERSION', 'SERIAL', 'DEVICE_NAME'], Challenge: 'c-1' },
    })
  })
  it('derives a reverse-DNS identifier from the host', () => {
    assert.equal(enrolmentProfileIdentifier('ota.example.com'), 'com.example.ota.airstrip.enroll')
    assert.equal(enrolmentProfileIdentifier('[::1]'), '1.airstrip.enroll')
    assert.equal(enrolmentProfileIdentifier('192.168.1.20'), '20.1.168.192.airstrip.enroll')
  })
})

describe('CMS signing (pkijs) and reading', () => {
  it('signs with an EC P-256 certificate chain that openssl verifies', async (t) => {
    const dir = tempDir(t)
    const crypto = globalThis.crypto
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
    const caKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])
    const ca = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=EC Test CA', keys: caKeys, signingAlgorithm: alg, extensions: [new x509.BasicConstraintsExtension(true, 0, true)] }, crypto)
    const leafKeys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])
    const leaf = await x509.X509CertificateGenerator.create({ subject: 'CN=ota.example.com', issuer: ca.subject, publicKey: leafKeys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: alg }, crypto)
    const keyPem = x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY')
    const signer = await createCmsSigner({ certificateChainPem: `${leaf.toString('pem')}\n${ca.toString('pem')}`, privateKeyPem: keyPem })
    assert.equal(signer.subject, 'CN=ota.example.com')
    const der = await signer.sign(Buffer.from('<plist/>'), new Date())
    writeFileSync(join(dir, 'ca.pem'), ca.toString('pem'))
    const content = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any'], { input: der, stdio: ['pipe', 'pipe', 'pipe'] })
    assert.equal(content.toString(), '<plist/>')
  })

  it('refuses a key that does not match the certificate', async (t) => {
    const identity = createSigningIdentity(tempDir(t), { commonName: 'one' })
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    await assert.rejects(createCmsSigner({ certificateChainPem: identity.certPem, privateKeyPem: other }), /does not belong to the first certificate/)
    await assert.rejects(createCmsSigner({ certificateChainPem: 'nothing here', privateKeyPem: identity.keyPem }), /no PEM certificate/)
  })

  it('reads a BER (streamed, indefinite-length) device answer and verifies its signature', async (t) => {
    const identity = createSigningIdentity(tempDir(t), { commonName: 'Device' })
    const xml = '<?xml version="1.0"?><plist version="1.0"><dict><key>UDID</key><string>00008030-001a2b3c4d5e6f70</string><key>CHALLENGE</key><string>c</string><key>PRODUCT</key><string>iPhone17,3</string><key>IMEI</key><string>35 000000 000000 0</string></dict></plist>'
    const answer = await readDeviceResponse(signProfile(xml, identity, { ber: true }), { now: new Date() })
    assert.equal(answer.udid, '00008030-001A2B3C4D5E6F70')
    assert.equal(answer.product, 'iPhone17,3')
    assert.equal(answer.challenge, 'c')
    assert.equal(answer.deviceName, null)
    assert.deepEqual(answer.signature, { verified: true, chainVerified: null, signer: 'Device, Test, US' })
  })

  it('gives precise codes for what it refuses', async () => {
    const refused = async (body: Uint8Array, code: string, message: RegExp): Promise<void> =>
      assert.rejects(readDeviceResponse(body, { now: new Date() }), (error: unknown) => isAirstripError(error) && error.code === code && message.test(error.message))
    await refused(Buffer.alloc(0), 'invalid-device-response', /empty/)
    await refused(Buffer.alloc(64 * 1024 + 1), 'upload-too-large', /65537 bytes/)
    await refused(Buffer.from([0x30, 0x80]), 'invalid-device-response', /not DER\/BER|not a CMS/)
  })
})

describe('installability', () => {
  const now = new Date('2026-06-01T00:00:00Z')
  const withProfile = (profile: Partial<ProvisioningProfile> | null, extra: Partial<IpaInfo> = {}): IpaInfo => ({
    ...sampleBuild('com.example.app').info,
    ...extra,
    profile: profile === null ? null : { kind: 'ad-hoc', encoding: 'cms', name: 'P', uuid: 'U', teamId: 'T', teamName: 'Team', appIdName: null, applicationIdentifier: 'T.com.example.app', createdAt: null, expiresAt: '2027-01-01T00:00:00Z', provisionedDevices: [SAMPLE_UDIDS[0]], provisionsAllDevices: false, platforms: ['iOS'], entitlements: {}, certificates: [], signers: [], ...profile },
  })
  const cases: Array<[string, IpaInfo, string, boolean, string]> = [
    ['listed in the profile', withProfile({}), SAMPLE_UDIDS[0].toUpperCase(), true, 'in-profile'],
    ['not listed', withProfile({}), SAMPLE_UDIDS[1], false, 'not-in-profile'],
    ['enterprise', withProfile({ kind: 'enterprise', provisionedDevices: [], provisionsAllDevices: true }), SAMPLE_UDIDS[1], true, 'all-devices'],
    ['App Store', withProfile({ kind: 'app-store', provisionedDevices: [] }), SAMPLE_UDIDS[0], false, 'app-store'],
    ['expired profile', withProfile({ expiresAt: '2026-05-01T00:00:00Z' }), SAMPLE_UDIDS[0], false, 'profile-expired'],
    ['unsigned', withProfile(null), SAMPLE_UDIDS[0], false, 'unsigned'],
    ['simulator', withProfile({}, { platform: 'iphonesimulator' }), SAMPLE_UDIDS[0], false, 'simulator'],
    ['signed with a certificate the profile does not allow', withProfile({}, { problems: [{ code: 'certificate-not-in-profile', severity: 'error', message: 'nope' }] }), SAMPLE_UDIDS[0], false, 'other'],
  ]
  for (const [what, info, udid, installable, reason] of cases) {
    it(what, () => {
      const verdict = installabilityFor(info, udid, now)
      assert.equal(verdict.installable, installable)
      assert.equal(verdict.reason, reason)
    })
  }
  it('the install page verdict only for device-limited builds', () => {
    const device = { name: 'Jane’s iPhone', udid: SAMPLE_UDIDS[1] }
    assert.deepEqual(deviceProfileCheck(withProfile({}), device, now), {
      inProfile: false,
      message: "✗ Jane’s iPhone is not in this build's profile — installation will fail",
      nextStep: 'Ask the developer for a new build that includes this device: the team already sees “Jane’s iPhone” in its device list.',
    })
    assert.equal(deviceProfileCheck(withProfile({ provisionedDevices: [SAMPLE_UDIDS[1]] }), device, now)?.message, "✓ Jane’s iPhone is in this build's profile")
    assert.equal(deviceProfileCheck(withProfile({ kind: 'enterprise', provisionsAllDevices: true }), device, now), null)
    assert.equal(deviceProfileCheck(withProfile({ expiresAt: '2026-01-01T00:00:00Z' }), device, now), null, 'expired: the page already says it cannot install')
  })
})

describe('the device cookie', () => {
  it('is first-party, HttpOnly, Lax, Secure over https, and read back strictly', () => {
    assert.equal(deviceCookieHeader('a.b', { secure: true, path: '/ota/' }), 'airstrip_device=a.b; Path=/ota/; Max-Age=31536000; HttpOnly; SameSite=Lax; Secure')
    assert.equal(deviceCookieHeader('a.b', { secure: false, path: '' }), 'airstrip_device=a.b; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax')
    assert.equal(readCookie('x=1; airstrip_device=abc.DEF-_; y=2', 'airstrip_device'), 'abc.DEF-_')
    assert.equal(readCookie('airstrip_device=<script>', 'airstrip_device'), null)
    assert.equal(readCookie(undefined, 'airstrip_device'), null)
    assert.equal(readCookie('other=1', 'airstrip_device'), null)
  })
})
