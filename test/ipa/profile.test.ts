import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { build } from 'plist'
import type { ErrorCode } from '../../src/errors.ts'
import { parseProvisioningProfile } from '../../src/ipa/profile.ts'
import { PROFILE_KINDS } from '../../src/ipa/types.ts'
import type { CertificateSummary, PlistDict, ProvisioningProfile } from '../../src/ipa/types.ts'
import { toBinaryPlist } from '../support/bplist-writer.ts'
import { FIXTURE_EXPECTATIONS } from '../support/mobileprovision-fixtures.ts'
import { SAMPLE_UDIDS, buildProfilePlist, createSigningIdentity, signProfile } from '../support/profiles.ts'
import type { SigningIdentity } from '../support/profiles.ts'

const FIXTURES = new URL('../fixtures/mobileprovision/', import.meta.url)
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES))

function assertRefused(bytes: Uint8Array, pattern: RegExp, code: ErrorCode = 'invalid-profile'): void {
  assert.throws(() => parseProvisioningProfile(bytes), (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error))
    assert.match((error as Error).message, pattern)
    return true
  })
}

describe('parseProvisioningProfile: fixtures', () => {
  it('has an expectation for every file in test/fixtures/mobileprovision', () => {
    const files = readdirSync(FIXTURES).filter((name) => !name.endsWith('.md')).sort()
    assert.deepEqual(files, Object.keys(FIXTURE_EXPECTATIONS).sort())
  })

  for (const [name, expected] of Object.entries(FIXTURE_EXPECTATIONS)) {
    it(name, () => {
      if ('error' in expected) return assertRefused(fixture(name), expected.message, expected.error)
      const profile = parseProvisioningProfile(fixture(name))
      const { deviceCount, sampleDevice, certificates, ...fields } = expected
      for (const [key, value] of Object.entries(fields)) assert.deepEqual(profile[key as keyof ProvisioningProfile], value, key)
      assert.equal(profile.provisionedDevices.length, deviceCount)
      if (sampleDevice !== undefined) assert.ok(profile.provisionedDevices.includes(sampleDevice))
      assert.deepEqual(profile.certificates.map(({ subject, notAfter }) => ({ subject, notAfter })), certificates)
    })
  }

  it('refuses appaloosa-adhoc only for its junk first byte', () => {
    const profile = parseProvisioningProfile(fixture('appaloosa-adhoc.mobileprovision').subarray(1))
    assert.equal(profile.kind, 'ad-hoc')
    assert.deepEqual(profile.provisionedDevices, ['oneDeviceUDID'])
    assert.deepEqual(profile.certificates, [])
  })

  it('converts entitlements to plain JSON', () => {
    const profile = parseProvisioningProfile(fixture('appinfo-ios_development.mobileprovision'))
    assert.equal(profile.entitlements['get-task-allow'], true)
    assert.equal(profile.entitlements['aps-environment'], 'development')
    assert.deepEqual(profile.entitlements['keychain-access-groups'], ['WKR87TTKML.*', 'com.apple.token'])
    assert.deepEqual(JSON.parse(JSON.stringify(profile.entitlements)), profile.entitlements)
  })
})

describe('parseProvisioningProfile: synthetic profiles', () => {
  let dir: string
  let signer: SigningIdentity
  let developer: SigningIdentity
  let developerSummary: CertificateSummary
  const developerExpiry = new Date('2031-02-03T04:05:06Z')

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'airstrip-profile-'))
    signer = createSigningIdentity(dir, { commonName: 'Test Profile Signing', days: 30 })
    developer = createSigningIdentity(dir, {
      commonName: 'Apple Development: Jane Doe (ABCDE12345)', teamId: 'ABCDE12345', notBefore: new Date('2021-01-01T00:00:00Z'), notAfter: developerExpiry,
    })
    // Serial and fingerprint as openssl reports them, e.g. "serial=1A2B..." / "SHA1 Fingerprint=AA:BB:...".
    const facts = execFileSync('openssl', ['x509', '-in', developer.certPath, '-noout', '-serial', '-fingerprint', '-sha1'], { encoding: 'utf8' })
    developerSummary = {
      subject: 'Apple Development: Jane Doe (ABCDE12345)', teamId: 'ABCDE12345',
      serialNumber: /serial=([0-9A-F]+)/.exec(facts)![1]!, notBefore: '2021-01-01T00:00:00.000Z', notAfter: '2031-02-03T04:05:06.000Z',
      sha1: /Fingerprint=([0-9A-F:]+)/.exec(facts)![1]!.replaceAll(':', ''),
    }
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const createdAt = new Date('2024-05-06T07:08:09Z')
  const expiresAt = new Date('2025-05-06T07:08:09Z')
  const devices = Array.from({ length: 120 }, (_, i) => (i % 2 ? `00008030-${String(i).padStart(16, '0')}` : i.toString(16).padStart(40, 'a')))
  // Enough domains that every kind's content spans several 4 KiB chunks in the BER envelope.
  const domains = Array.from({ length: 200 }, (_, i) => `applinks:host${i}.example.com`)
  const extraEntitlements: PlistDict = {
    'aps-environment': 'production',
    'com.apple.developer.associated-domains': domains,
    'com.example.groups': ['group.one', 'group.two'],
    'com.example.nested': { flag: true, count: 3, when: new Date('2024-01-02T03:04:05Z'), blob: new Uint8Array([1, 2, 3]) },
  }

  for (const kind of PROFILE_KINDS) {
    for (const ber of [false, true]) {
      it(`round-trips a ${kind} profile (${ber ? 'BER indefinite-length' : 'DER'})`, () => {
        const xml = buildProfilePlist({
          kind, name: `Synthetic ${kind}`, uuid: '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0', teamId: 'ABCDE12345', teamName: 'Example Ltd',
          appId: 'com.example.*', devices, createdAt, expiresAt, platforms: ['iOS', 'xrOS'], entitlements: extraEntitlements,
          developerCertificates: [developer.der, new TextEncoder().encode('REDACTED')],
        })
        assert.ok(Buffer.byteLength(xml) > 2 * 4096, 'content spans several 4 KiB BER chunks')
        const envelope = signProfile(xml, signer, { ber })
        // 0x30 0x80: SEQUENCE with indefinite length; DER always has a definite one.
        assert.equal(envelope[1] === 0x80, ber)
        const profile = parseProvisioningProfile(envelope)
        const withDevices = kind === 'development' || kind === 'ad-hoc'
        assert.deepEqual(profile, {
          kind, encoding: 'cms', name: `Synthetic ${kind}`, uuid: '0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0',
          teamId: 'ABCDE12345', teamName: 'Example Ltd', appIdName: 'com.example.* app id', applicationIdentifier: 'ABCDE12345.com.example.*',
          createdAt: '2024-05-06T07:08:09.000Z', expiresAt: '2025-05-06T07:08:09.000Z',
          provisionedDevices: withDevices ? devices : [], provisionsAllDevices: kind === 'enterprise', platforms: ['iOS', 'xrOS'],
          entitlements: {
            'application-identifier': 'ABCDE12345.com.example.*', 'keychain-access-groups': ['ABCDE12345.*'],
            'get-task-allow': kind === 'development', 'com.apple.developer.team-identifier': 'ABCDE12345',
            ...(kind === 'app-store' ? { 'beta-reports-active': true } : {}),
            'aps-environment': 'production', 'com.apple.developer.associated-domains': domains, 'com.example.groups': ['group.one', 'group.two'],
            'com.example.nested': { flag: true, count: 3, when: '2024-01-02T03:04:05.000Z', blob: 'AQID' },
          },
          // The "REDACTED" placeholder is skipped.
          certificates: [developerSummary],
          signers: ['Test Profile Signing'],
        })
      })
    }
  }

  it('reads bare XML and binary plists as fallbacks, with no signers', () => {
    const xml = buildProfilePlist({ kind: 'ad-hoc', devices: [SAMPLE_UDIDS[1]], uuid: 'U-1' })
    const fromXml = parseProvisioningProfile(Buffer.from(`\uFEFF\n  ${xml}`))
    assert.equal(fromXml.encoding, 'xml-plist')
    assert.deepEqual([fromXml.kind, fromXml.uuid, fromXml.provisionedDevices, fromXml.signers], ['ad-hoc', 'U-1', [SAMPLE_UDIDS[1]], []])
    const value = { UUID: 'U-2', ProvisionsAllDevices: true, CreationDate: createdAt, Entitlements: { 'get-task-allow': false } }
    const fromBinary = parseProvisioningProfile(toBinaryPlist(value))
    assert.deepEqual([fromBinary.encoding, fromBinary.kind, fromBinary.uuid, fromBinary.createdAt, fromBinary.signers], ['binary-plist', 'enterprise', 'U-2', '2024-05-06T07:08:09.000Z', []])
  })

  it('decides the kind in order: all devices, get-task-allow, devices, else app store', () => {
    const kindOf = (options: Parameters<typeof buildProfilePlist>[0]): string => parseProvisioningProfile(Buffer.from(buildProfilePlist(options))).kind
    assert.equal(kindOf({ kind: 'development', extraKeys: { ProvisionsAllDevices: true } }), 'enterprise')
    assert.equal(kindOf({ kind: 'ad-hoc', entitlements: { 'get-task-allow': null, 'com.apple.security.get-task-allow': true } }), 'development')
    assert.equal(kindOf({ kind: 'app-store', extraKeys: { ProvisionedDevices: ['x'] } }), 'ad-hoc')
    assert.equal(kindOf({ kind: 'development', entitlements: { 'get-task-allow': false }, devices: [] }), 'app-store')
    // macOS development profiles carry no get-task-allow: a development certificate decides.
    const macOS = { platforms: ['OSX'], entitlements: { 'get-task-allow': null }, devices: ['CA0D8C4F-11CA-536F-BDCD-163DD790C48F'] }
    assert.equal(kindOf({ kind: 'ad-hoc', ...macOS, developerCertificates: [developer.der] }), 'development')
    assert.equal(kindOf({ kind: 'ad-hoc', ...macOS, developerCertificates: [signer.der] }), 'ad-hoc')
  })

  it('refuses envelopes without usable content', () => {
    const content = (text: string, args: string[] = ['-nodetach']): Buffer =>
      execFileSync('openssl', ['cms', '-sign', '-binary', '-outform', 'DER', '-signer', signer.certPath, '-inkey', signer.keyPath, ...args], { input: text })
    assertRefused(content('hello, not a plist'), /provisioning profile content: neither an XML nor a binary property list/)
    assertRefused(content(build(['an', 'array'])), /provisioning profile content: top level is an array, not a dictionary/)
    assertRefused(content(buildProfilePlist({ kind: 'development' }), []), /carries no content \(detached signature\)/)
    const whole = signProfile(buildProfilePlist({ kind: 'development' }), signer)
    assertRefused(whole.subarray(0, Math.floor(whole.length / 2)), /neither a CMS SignedData envelope nor a property list \(starts with 0x3082/)
  })

  it('refuses empty, garbage and truncated input', () => {
    assertRefused(new Uint8Array(0), /provisioning profile is empty/)
    assertRefused(Buffer.from('garbage that is no profile'), /neither a CMS SignedData envelope nor a property list \(starts with 0x67617262\)/)
    assertRefused(Buffer.from([0x01, ...Buffer.from('<?xml version="1.0"?><plist><dict/></plist>')]), /starts with 0x013c3f78/)
    assertRefused(Buffer.from('<?xml version="1.0"?><plist><dict><key>Name</key>'), /provisioning profile: malformed XML/)
    assertRefused(Buffer.from(build('a string')), /top level is a string, not a dictionary/)
    assertRefused(new Uint8Array(16 * 1024 * 1024 + 1), /more than the 16777216 allowed/, 'entry-too-large')
  })
})
