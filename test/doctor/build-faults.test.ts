import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa, type SyntheticIpaOptions } from '../support/ipa-builder.ts'
import { CODE_DIRECTORY, CPU_TYPE_ARM64, buildMachO, toBuffer } from '../support/macho.ts'
import { SAMPLE_UDIDS, buildProfilePlist, createSigningIdentity, signProfile, type ProfileOptions, type SigningIdentity } from '../support/profiles.ts'
import { chainPem, makePki, type TestPki } from './support/certificates.ts'
import { doctor, fileScope, layOutSite, pemFile, startDeployment, type Deployment } from './support/deployment.ts'

const DAY = 24 * 60 * 60 * 1000
let pki: TestPki
let dir: string
let profileSigner: SigningIdentity
let developer: SigningIdentity
let expiredDeveloper: SigningIdentity
let site: Deployment
let trust: string[]
const suite = fileScope()

/** The code signature codesign would embed, made by `identity` over the CodeDirectory stand-in. */
function signedExecutable(identity: SigningIdentity): Buffer {
  const content = join(dir, `cd-${Math.random().toString(36).slice(2)}`)
  writeFileSync(content, CODE_DIRECTORY)
  const cms = execFileSync('openssl', ['cms', '-sign', '-binary', '-outform', 'DER', '-in', content, '-signer', identity.certPath, '-inkey', identity.keyPath])
  return toBuffer(buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms }))
}

function profile(options: Partial<ProfileOptions> & Pick<ProfileOptions, 'kind'>, signer = developer): Buffer {
  return signProfile(buildProfilePlist({ appId: 'com.example.app', developerCertificates: [signer.der], ...options }), profileSigner)
}

/** Builds a synthetic .ipa, serves it as a deployment under /<name>/ and returns its manifest URL. */
async function publish(name: string, options: SyntheticIpaOptions, bytes?: Buffer): Promise<string> {
  const path = join(dir, `${name}.ipa`)
  if (!bytes) await buildIpa(path, options)
  const info = { bundleId: 'com.example.app', bundleVersion: '1.2.3', title: 'Example App' }
  return layOutSite(site, { ipa: bytes ?? readFileSync(path), ...info }, `/${name}`).manifestUrl
}

before(async () => {
  pki = await makePki()
  dir = tempDir(suite, 'airstrip-doctor-build-')
  profileSigner = createSigningIdentity(dir, { commonName: 'Test Profile Signing', days: 30 })
  developer = createSigningIdentity(dir, { commonName: 'Apple Distribution: Example Inc (ABCDE12345)', teamId: 'ABCDE12345' })
  expiredDeveloper = createSigningIdentity(dir, {
    commonName: 'Apple Distribution: Example Inc (ABCDE12345)',
    teamId: 'ABCDE12345',
    notBefore: new Date(Date.now() - 400 * DAY),
    notAfter: new Date(Date.now() - 10 * DAY),
  })
})

describe('what installd refuses, read from the .ipa behind the manifest', () => {
  before(async () => {
    // One server for every build below, as a team's static host would be.
    site = await startDeployment(suite, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem })
    trust = ['--ca-file', pemFile(suite, pki.root.certPem), '--timeout', '20']
  })

  it('a well-signed ad hoc build passes the build checks (the profile is signed by a test CA: a warning)', async () => {
    const url = await publish('good', { profile: profile({ kind: 'ad-hoc', devices: [...SAMPLE_UDIDS] }), executable: signedExecutable(developer) })
    const run = await doctor(url, ...trust, '--udid', SAMPLE_UDIDS[1], '--ios', '15.0')
    for (const id of ['ios-version-too-old', 'app-store-signed', 'simulator-build', 'unsigned', 'profile-expired', 'profile-expires-soon', 'certificate-expired', 'device-not-provisioned', 'bundle-id-mismatch']) {
      assert.equal(run.status(id), 'pass', `${id}: ${run.check(id).message}`)
    }
    assert.equal(run.status('build-problems'), 'warn')
    assert.match(run.check('build-problems').message, /profile-not-signed-by-apple/)
    assert.equal(run.code, 0)
  })

  it('app-store-signed: a synthetic App Store profile, and the App Store-signed fixture', async () => {
    const url = await publish('store', { profile: profile({ kind: 'app-store' }) })
    const run = await doctor(url, ...trust)
    assert.equal(run.status('app-store-signed'), 'fail')
    assert.match(run.check('app-store-signed').symptom ?? '', /Unable to Install/)
    assert.equal(run.code, 1)
    const fixtureUrl = await publish('ipad', {}, readFileSync(fixture('ipa', 'appinfo-ipad.ipa')))
    const fromFixture = await doctor(fixtureUrl, ...trust, '--now', '2020-08-01T00:00:00Z')
    assert.equal(fromFixture.status('app-store-signed'), 'fail')
    assert.equal(fromFixture.status('bundle-id-mismatch'), 'fail', 'the manifest was written for another app')
  })

  it('simulator-build and unsigned', async () => {
    const simulator = await doctor(await publish('sim', { info: { DTPlatformName: 'iphonesimulator', CFBundleSupportedPlatforms: ['iPhoneSimulator'] }, profile: profile({ kind: 'development' }) }), ...trust)
    assert.equal(simulator.status('simulator-build'), 'fail')
    assert.equal(simulator.status('unsigned'), 'pass')
    const unsigned = await doctor(await publish('unsigned', { profile: null }), ...trust)
    assert.equal(unsigned.status('unsigned'), 'fail')
    assert.equal(unsigned.status('profile-expired'), 'skip')
  })

  it('profile-expired and profile-expires-soon', async () => {
    const expired = await doctor(await publish('expired', { profile: profile({ kind: 'ad-hoc', createdAt: new Date(Date.now() - 400 * DAY), expiresAt: new Date(Date.now() - 35 * DAY) }) }), ...trust)
    assert.equal(expired.status('profile-expired'), 'fail')
    assert.equal(expired.status('profile-expires-soon'), 'skip')
    const soon = await doctor(await publish('soon', { profile: profile({ kind: 'ad-hoc', createdAt: new Date(Date.now() - 300 * DAY), expiresAt: new Date(Date.now() + 5 * DAY) }) }), ...trust)
    assert.equal(soon.status('profile-expires-soon'), 'warn')
    assert.equal(soon.status('profile-expired'), 'pass')
    assert.equal(soon.code, 0)
    // --now moves the clock the build is judged by.
    const later = await doctor(await publish('soon2', { profile: profile({ kind: 'ad-hoc', expiresAt: new Date(Date.now() + 100 * DAY) }) }), ...trust, '--now', new Date(Date.now() + 200 * DAY).toISOString())
    assert.equal(later.status('profile-expired'), 'fail')
  })

  it('certificate-expired: the executable is signed by an expired certificate', async () => {
    const url = await publish('cert', { profile: profile({ kind: 'enterprise' }, expiredDeveloper), executable: signedExecutable(expiredDeveloper) })
    const run = await doctor(url, ...trust)
    assert.equal(run.status('certificate-expired'), 'fail')
    assert.match(run.check('certificate-expired').message, /expired on/)
    assert.equal(run.status('build-problems'), 'warn', 'the certificate is in the profile: only the test signer is reported')
  })

  it('device-not-provisioned: a profile with and without the device', async () => {
    const url = await publish('devices', { profile: profile({ kind: 'development', devices: [SAMPLE_UDIDS[0]] }) })
    const missing = await doctor(url, ...trust, '--udid', SAMPLE_UDIDS[1])
    assert.equal(missing.status('device-not-provisioned'), 'fail')
    assert.match(missing.check('device-not-provisioned').message, /not among the 1 devices/)
    const present = await doctor(url, ...trust, '--udid', SAMPLE_UDIDS[0].toUpperCase())
    assert.equal(present.status('device-not-provisioned'), 'pass')
    const enterprise = await doctor(await publish('enterprise', { profile: profile({ kind: 'enterprise' }) }), ...trust, '--udid', SAMPLE_UDIDS[1])
    assert.equal(enterprise.status('device-not-provisioned'), 'pass')
    const bad = await doctor(url, ...trust, '--udid', 'not-a-udid')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid-udid/)
  })

  it('ios-version-too-old: a device on iOS 14.8 and an app for iOS 15.0', async () => {
    const url = await publish('minos', { profile: profile({ kind: 'enterprise' }) })
    const run = await doctor(url, ...trust, '--ios', '14.8')
    assert.equal(run.status('ios-version-too-old'), 'fail')
    assert.match(run.check('ios-version-too-old').message, /needs iOS 15\.0; the device runs 14\.8/)
    assert.equal((await doctor(url, ...trust, '--ios', '15.0.1')).status('ios-version-too-old'), 'pass')
    assert.match((await doctor(url, ...trust)).check('ios-version-too-old').message, /needs iOS 15\.0/)
  })

  it('build-problems: a profile whose App ID does not cover the bundle id', async () => {
    const run = await doctor(await publish('appid', { profile: profile({ kind: 'ad-hoc', appId: 'com.other.*' }) }), ...trust)
    assert.equal(run.status('build-problems'), 'fail')
    assert.match(run.check('build-problems').message, /bundle-id-not-in-profile/)
  })

  it('ipa-corrupt: a zipped Simulator .app (no Payload/) behind the .ipa URL', async () => {
    const run = await doctor(await publish('zip', {}, readFileSync(fixture('misc', 'UIKitCatalog-iphonesimulator.zip'))), ...trust)
    assert.equal(run.status('ipa-corrupt'), 'fail')
    assert.match(run.check('ipa-corrupt').message, /no-app-bundle/)
    assert.equal(run.status('unsigned'), 'skip')
  })
})
