// Every real .ipa under test/fixtures/ipa and ipa-malformed, inspected end to end. Expected values
// come from the fixtures' MANIFEST.md (extracted upstream with unzip, plistlib and openssl).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { inspectIpa } from '../../src/ipa/inspect.ts'
import type { IpaInfo } from '../../src/ipa/types.ts'
import { fixture } from '../support/fixtures.ts'

const NOW = new Date('2026-11-26T00:00:00Z')
const codes = (info: IpaInfo) => info.problems.map((p) => p.code)

async function inspectFixture(name: string, now = NOW) {
  const path = fixture('ipa', name)
  const result = await inspectIpa(path, { now })
  assert.equal(result.info.sha256, createHash('sha256').update(readFileSync(path)).digest('hex'))
  assert.equal(result.info.size, readFileSync(path).length)
  return result
}

test('appinfo-iphone: development, 100 devices, binary Info.plist, no icon', async () => {
  const { info, iconPng } = await inspectFixture('appinfo-iphone.ipa')
  assert.equal(info.bundleId, 'com.icyleaf.AppInfoDemo')
  assert.equal(info.version, '1.2.3')
  assert.equal(info.build, '5')
  assert.equal(info.name, 'AppInfoDemo')
  assert.equal(info.minimumOSVersion, '9.3')
  assert.deepEqual(info.deviceFamily, ['iphone'])
  assert.equal(info.platform, 'iphoneos')
  assert.equal(info.appPath, 'Payload/AppInfoDemo.app/')
  assert.equal(info.profile?.kind, 'development')
  assert.equal(info.profile?.name, 'iOS Team Provisioning Profile: *')
  assert.equal(info.profile?.teamId, '5PJA6N5A3B')
  assert.equal(info.profile?.teamName, 'QYER Inc')
  assert.equal(info.profile?.provisionedDevices.length, 100)
  assert.equal(info.profile?.certificates.length, 13)
  assert.equal(info.profile?.expiresAt, '2017-07-27T09:44:49.000Z')
  assert.equal(info.icon, null)
  assert.equal(iconPng, null)
  assert.ok(codes(info).includes('profile-expired'))
  assert.ok(codes(info).includes('icon-missing'))
  assert.ok(!codes(info).includes('bundle-id-not-in-profile'), 'wildcard App ID 5PJA6N5A3B.* covers the bundle id')
})

test('appinfo-ipad: App Store-signed, iPad-only, 7 CgBI icons', async () => {
  const { info, iconPng } = await inspectFixture('appinfo-ipad.ipa')
  assert.equal(info.bundleId, 'com.icyleaf.bundle')
  assert.deepEqual(info.deviceFamily, ['ipad'])
  assert.equal(info.profile?.kind, 'app-store')
  assert.equal(info.profile?.name, 'XC: *')
  assert.ok(codes(info).includes('app-store-signed'))
  assert.equal(info.problems.find((p) => p.code === 'app-store-signed')?.severity, 'error')
  assert.ok(info.icon, 'an icon is found')
  assert.equal(info.icon.wasCgbi, true)
  assert.match(info.icon.sourcePath, /^Payload\/bundle\.app\/AppIcon83\.5x83\.5@2x~ipad\.png$/)
  assert.equal(info.icon.width, 167)
  assert.ok(iconPng && iconPng.subarray(1, 4).toString() === 'PNG')
})

test('appinfo-embedded: enterprise, XML Info.plist, extension with its own profile', async () => {
  const { info } = await inspectFixture('appinfo-embedded.ipa')
  assert.equal(info.bundleId, 'com.icyleaf.test.Demo')
  assert.equal(info.minimumOSVersion, '14.3')
  assert.deepEqual(info.deviceFamily, ['iphone', 'ipad'])
  assert.equal(info.profile?.kind, 'enterprise')
  assert.equal(info.profile?.provisionsAllDevices, true)
  assert.equal(info.profile?.teamId, '72LA85G59H')
  assert.equal(info.extensions.length, 1)
  const [extension] = info.extensions
  assert.equal(extension?.type, 'app-extension')
  assert.equal(extension?.path, 'Payload/Demo.app/PlugIns/Notification.appex/')
  assert.match(extension?.bundleId ?? '', /^com\.icyleaf\.test\.Demo\./)
  assert.equal(extension?.profile?.kind, 'enterprise')
  assert.ok(!codes(info).includes('extension-profile-mismatch'))
})

test('ipaserver-ipa: icon only in Assets.car (LZFSE), mixed UDID formats', async () => {
  const { info, iconPng } = await inspectFixture('ipaserver-ipa.ipa')
  assert.equal(info.bundleId, 'com.ineva.test-rtmp.Test')
  assert.equal(info.profile?.provisionedDevices.length, 35)
  assert.equal(info.profile?.provisionedDevices.filter((d) => /^[0-9A-F]{8}-[0-9A-F]{16}$/.test(d)).length, 3)
  assert.deepEqual(info.icon, { width: 180, height: 180, wasCgbi: false, sourcePath: 'Payload/Test.app/Assets.car' })
  assert.ok(iconPng && iconPng.subarray(1, 4).toString() === 'PNG')
  assert.ok(!codes(info).includes('icon-missing'))
})

test('very capable app: spaces in names, profile signed by a non-Apple certificate', async () => {
  const { info } = await inspectFixture('very capable app.ipa')
  assert.equal(info.bundleId, 'org.fastlane.very-capable-app')
  assert.equal(info.appPath, 'Payload/very capable app.app/')
  assert.equal(info.executable, 'very capable app')
  assert.equal(info.profile?.uuid, '12345678-1234-1234-1234-123456789012')
  assert.deepEqual(info.profile?.signers, ['TestFixture'])
  assert.ok(codes(info).includes('profile-not-signed-by-apple'))
})

test('ipametadata minimal archives: XML and binary Info.plist give the same facts, unsigned', async () => {
  const xml = await inspectFixture('ipametadata-testApp.ipa')
  const binary = await inspectFixture('ipametadata-testApp-binaryPlist.ipa')
  for (const { info } of [xml, binary]) {
    assert.equal(info.bundleId, 'io.mts.testapp')
    assert.equal(info.version, '1.0.0')
    assert.equal(info.build, '1337')
    assert.equal(info.name, 'Test App')
    assert.equal(info.profile, null)
    assert.equal(info.signingCertificate, null)
    assert.ok(codes(info).includes('unsigned'))
  }
})

test('lagunitas: legacy App ID prefix differs from the team, CgBI icons', async () => {
  const { info } = await inspectFixture('lagunitas-Sample.ipa')
  assert.equal(info.bundleId, 'com.samsoffes.Sample')
  assert.equal(info.version, '2.2')
  assert.equal(info.build, '13')
  assert.equal(info.name, 'Sample')
  assert.equal(info.profile?.teamId, 'UP9C8XM22A')
  assert.match(info.profile?.applicationIdentifier ?? '', /^P6E47NYN2M\./)
  assert.deepEqual(info.profile?.platforms, [])
  assert.equal(info.icon?.wasCgbi, true)
  assert.equal(info.icon?.width, 152)
})

test('bitbar-sample-latest: current profile, expiry warnings follow the clock', async () => {
  const { info } = await inspectFixture('bitbar-sample-latest-iOS.ipa')
  assert.equal(info.bundleId, 'com.bitbar.BitBarSample')
  assert.equal(info.minimumOSVersion, '14')
  assert.equal(info.sdk, 'iphoneos26.1')
  assert.equal(info.profile?.provisionedDevices.length, 146)
  assert.deepEqual(info.profile?.platforms, ['iOS', 'xrOS', 'visionOS'])
  assert.equal(info.profile?.expiresAt, '2026-12-26T05:10:44.000Z')
  assert.ok(!codes(info).includes('profile-expired'))
  assert.ok(!codes(info).includes('profile-expires-soon'))
  const soon = await inspectIpa(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), { now: new Date('2026-12-20T00:00:00Z'), sha256: null })
  assert.ok(codes(soon.info).includes('profile-expires-soon'))
  assert.equal(soon.info.sha256, null)
  const late = await inspectIpa(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), { now: new Date('2027-01-01T00:00:00Z'), sha256: null })
  assert.ok(codes(late.info).includes('profile-expired'))
})

test('bitbar-BitBarSampleApp: React Native app, iPhone-only', async () => {
  const { info } = await inspectFixture('bitbar-BitBarSampleApp.ipa')
  assert.equal(info.bundleId, 'org.reactjs.native.example.BitBarSampleApp')
  assert.equal(info.name, 'BitBar Sample App')
  assert.deepEqual(info.deviceFamily, ['iphone'])
  assert.equal(info.profile?.provisionedDevices.length, 154)
})

test('calabash-CalSmoke: dotted CFBundleVersion, the largest of 38 legacy icons', async () => {
  const { info } = await inspectFixture('calabash-CalSmoke.ipa')
  assert.equal(info.build, '0.20.4')
  assert.equal(info.icon?.wasCgbi, true)
  assert.ok((info.icon?.width ?? 0) >= 152, `largest icon picked, got ${info.icon?.width}`)
})

test('every valid fixture yields a signing certificate consistent with its profile, or says why not', async () => {
  for (const name of ['appinfo-iphone.ipa', 'lagunitas-Sample.ipa', 'bitbar-sample-latest-iOS.ipa', 'calabash-CalSmoke.ipa']) {
    const { info } = await inspectIpa(fixture('ipa', name), { now: NOW, sha256: null })
    if (info.signingCertificate) {
      assert.ok(info.profile?.certificates.some((c) => c.sha1 === info.signingCertificate?.sha1), `${name}: signer listed in the profile`)
    } else {
      assert.ok(codes(info).includes('signature-unreadable'), `${name}: says why there is no certificate`)
    }
  }
})

for (const [name, code] of [
  ['fastlane-not-an-ipa.ipa', 'not-a-zip'],
  ['fastlane-no-app-bundle.ipa', 'no-app-bundle'],
  ['fastlane-with_no_swift.ipa', 'no-info-plist'],
  ['fastlane-ContainsWatchApp.ipa', 'no-app-bundle'],
] as const) {
  test(`malformed ${name} is refused with ${code}`, async () => {
    await assert.rejects(inspectIpa(fixture('ipa-malformed', name), { now: NOW }), (error: Error & { code?: string }) => {
      assert.equal(error.code, code)
      return true
    })
  })
}

test('a zipped Simulator .app (no Payload/) is refused and says why', async () => {
  await assert.rejects(inspectIpa(fixture('misc', 'UIKitCatalog-iphonesimulator.zip'), { now: NOW }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'no-app-bundle')
    assert.match(error.message, /UIKitCatalog-iphonesimulator\.app/)
    return true
  })
})
