// The install page's view model, per signing kind and per visitor.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { IpaInfo, ProfileKind, ProvisioningProfile } from '../../src/ipa/types.ts'
import type { DetectedClient } from '../../src/ota/client-detection.ts'
import { detectClient } from '../../src/ota/client-detection.ts'
import type { InstallPageInput } from '../../src/ota/install-page.ts'
import { installPageModel } from '../../src/ota/install-page.ts'
import type { AppRecord, BuildRecord } from '../../src/store/records.ts'

const NOW = new Date('2026-11-26T12:00:00Z')
const UPLOADED = '2026-11-23T09:30:00.000Z'
const CERT = { subject: 'Apple Distribution: Example Inc (ABCDE12345)', teamId: 'ABCDE12345', serialNumber: '01', notBefore: '2026-01-01T00:00:00Z', notAfter: '2027-06-01T00:00:00Z', sha1: 'AA' }

const SAFARI = detectClient('Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1')
const SAFARI_15 = detectClient('Mozilla/5.0 (iPhone; CPU iPhone OS 15_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1')
const SAFARI_18 = detectClient('Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1')
const WECHAT = detectClient('Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.28(0x18001c2c) NetType/WIFI Language/zh_CN')
const CHROME_IOS = detectClient('Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1')
const MAC_SAFARI = detectClient('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15')
const DESKTOP = detectClient('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36')
const ANDROID = detectClient('Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36')

function profile(kind: ProfileKind, overrides: Partial<ProvisioningProfile> = {}): ProvisioningProfile {
  return {
    kind, encoding: 'cms', name: 'Example Profile', uuid: 'u-1', teamId: 'ABCDE12345', teamName: 'Example Inc', appIdName: 'Example',
    applicationIdentifier: 'ABCDE12345.com.example.app', createdAt: '2026-06-01T00:00:00Z', expiresAt: '2027-06-01T00:00:00Z',
    provisionedDevices: kind === 'ad-hoc' || kind === 'development' ? ['00008020-001430D41A68002E', '00008030-000A1B2C3D4E5F60', 'a'.repeat(40)] : [],
    provisionsAllDevices: kind === 'enterprise', platforms: ['iOS'], entitlements: {}, certificates: [CERT],
    signers: ['Apple iPhone OS Provisioning Profile Signing'], ...overrides,
  }
}

function buildRecord(info: Partial<IpaInfo> = {}, record: Partial<BuildRecord> = {}): BuildRecord {
  const full: IpaInfo = {
    bundleId: 'com.example.app', version: '1.2.3', build: '45', name: 'Example', minimumOSVersion: '15.0', deviceFamily: ['iphone', 'ipad'],
    platform: 'iphoneos', executable: 'Example', appPath: 'Payload/Example.app/', size: 12_345_678, sha256: 'ab'.repeat(32), sdk: 'iphoneos17.0',
    requiredDeviceCapabilities: [], profile: profile('ad-hoc'), signingCertificate: CERT, icon: null, extensions: [], problems: [], ...info,
  }
  return {
    id: 'bld_1', appId: 'app_1', bundleId: 'com.example.app', name: full.name, version: full.version, build: full.build, size: full.size,
    sha256: 'ab'.repeat(32), chunkSize: 10_485_760, chunkSha256s: [], iconSha256: null, notes: 'Fixes <b>login</b> & more', fileName: 'Example.ipa',
    createdAt: UPLOADED, info: full, channel: 'main', keep: false, ...record,
  }
}

const APP: AppRecord = { id: 'app_1', bundleId: 'com.example.app', name: 'Example', createdAt: UPLOADED, updatedAt: UPLOADED }
const URLS = { installPage: 'https://ota.example.com/i/bld_1', manifest: 'https://ota.example.com/m/tok/manifest.plist', itms: 'itms-services://?action=download-manifest&url=x', icon: null }

function model(build: BuildRecord, client: DetectedClient = SAFARI, extra: Partial<InstallPageInput> = {}) {
  return installPageModel({ app: APP, build, history: [build], urls: URLS, client, now: NOW, insecureHttp: false, ...extra })
}

test('ad hoc build in iOS Safari: labels, install button, registration and Developer Mode steps', () => {
  const m = model(buildRecord())
  assert.equal(m.title, 'Example')
  assert.equal(m.versionLabel, '1.2.3 (45)')
  assert.deepEqual(m.size, { bytes: 12_345_678, label: '12.3 MB' })
  assert.deepEqual(m.uploaded, { iso: UPLOADED, label: '23 Nov 2026, 09:30 UTC', relative: '3 days ago' })
  assert.equal(m.releaseNotes, 'Fixes <b>login</b> & more', 'raw: the template escapes')
  assert.equal(m.minimumOsVersion, '15.0')
  assert.equal(m.minimumOsTooHigh, false)
  assert.deepEqual(m.deviceFamilies, ['iPhone', 'iPad'])
  assert.deepEqual(m.signing, { kind: 'ad-hoc', label: 'Ad Hoc', teamName: 'Example Inc', expiresAt: '2027-06-01T00:00:00Z', expired: false, deviceCount: 3 })
  assert.deepEqual(m.problems, [])
  assert.equal(m.canInstall, true)
  assert.equal(m.showInstallButton, true)
  assert.equal(m.touchTest, null)
  assert.equal(m.showQr, false)
  assert.equal(m.openInSafari, null)
  assert.equal(m.insecureBanner, null)
  assert.match(m.afterTap[0] ?? '', /"ota\.example\.com" would like to install "Example"/)
  assert.ok(m.afterTap.some((line) => /Home Screen/.test(line) && /Safari then shows nothing/.test(line)))
  assert.equal(m.afterInstall.length, 2)
  assert.match(m.afterInstall[0] ?? '', /registered in the build's provisioning profile/)
  assert.match(m.afterInstall[1] ?? '', /Settings › Privacy & Security › Developer Mode.*restart/)
  assert.deepEqual(m.history, [{ id: 'bld_1', versionLabel: '1.2.3 (45)', createdAt: UPLOADED, createdLabel: '23 Nov 2026, 09:30 UTC', current: true }])
})

test('development build on iOS 15: no Developer Mode step (iOS 16+ only)', () => {
  const m = model(buildRecord({ profile: profile('development') }), SAFARI_15)
  assert.equal(m.signing.label, 'Development')
  assert.equal(m.afterInstall.length, 1)
  assert.match(m.afterInstall[0] ?? '', /registered/)
})

test('enterprise build: all devices, trust steps; "Allow & Restart" only when iOS may be 18+', () => {
  const enterprise = buildRecord({ profile: profile('enterprise') })
  const on17 = model(enterprise, SAFARI)
  assert.equal(on17.signing.label, 'Enterprise (In-House)')
  assert.equal(on17.signing.deviceCount, 'all devices')
  assert.match(on17.afterInstall[0] ?? '', /Untrusted Enterprise Developer.*Settings › General › VPN & Device Management, tap "Example Inc" and then Trust/)
  assert.ok(!on17.afterInstall.some((line) => /Allow & Restart/.test(line)))
  assert.ok(!on17.afterInstall.some((line) => /Developer Mode/.test(line)))
  assert.ok(model(enterprise, SAFARI_18).afterInstall.some((line) => /iOS 18.*"Allow & Restart"/.test(line)))
  assert.ok(model(enterprise, DESKTOP).afterInstall.some((line) => /Allow & Restart/.test(line)), 'unknown version: shown')
})

test('App Store build: cannot install, problem in plain language, no button, no steps', () => {
  const m = model(buildRecord({ profile: profile('app-store') }))
  assert.equal(m.signing.label, 'App Store')
  assert.equal(m.signing.deviceCount, null)
  assert.equal(m.canInstall, false)
  assert.equal(m.showInstallButton, false)
  assert.deepEqual(m.afterTap, [])
  assert.deepEqual(m.afterInstall, [])
  const problem = m.problems.find((p) => p.code === 'app-store-signed')
  assert.equal(problem?.severity, 'error')
  assert.match(problem?.plain ?? '', /cannot be installed from a link/)
})

test('unsigned and Simulator builds cannot install', () => {
  const unsigned = model(buildRecord({ profile: null, signingCertificate: null }))
  assert.equal(unsigned.canInstall, false)
  assert.equal(unsigned.signing.kind, null)
  assert.equal(unsigned.signing.label, 'Not signed for devices')
  assert.ok(unsigned.problems.some((p) => p.code === 'unsigned'))
  const simulator = model(buildRecord({ platform: 'iphonesimulator' }))
  assert.equal(simulator.canInstall, false)
  assert.ok(simulator.problems.some((p) => p.code === 'simulator-build' && /Simulator/.test(p.plain)))
})

test('a profile that expired after the upload is judged at now, not at upload time', () => {
  const expiresAt = '2026-11-25T00:00:00Z'
  const stored = [{ code: 'profile-expires-soon', severity: 'warning' as const, message: 'the provisioning profile expires on 2026-11-25 (in 2 days); the app stops launching then.' }]
  const m = model(buildRecord({ profile: profile('ad-hoc', { expiresAt }), problems: stored }))
  assert.equal(m.signing.expired, true)
  assert.equal(m.signing.expiresAt, expiresAt)
  assert.equal(m.canInstall, false)
  assert.equal(m.showInstallButton, false)
  assert.deepEqual(m.problems.map((p) => p.code), ['profile-expired'], 'the stale warning is replaced')
  assert.match(m.problems[0]?.plain ?? '', /installation will fail/)
})

test('a profile expiring soon is a warning; the build still installs', () => {
  const m = model(buildRecord({ profile: profile('ad-hoc', { expiresAt: '2026-12-01T00:00:00Z' }) }))
  assert.equal(m.canInstall, true)
  assert.deepEqual(m.problems.map((p) => [p.code, p.severity]), [['profile-expires-soon', 'warning']])
})

test('upload-time notes that do not depend on the clock are kept; info problems are not shown', () => {
  const notes = [
    { code: 'icon-missing', severity: 'warning' as const, message: 'no loose icon PNG' },
    { code: 'signature-unreadable', severity: 'info' as const, message: 'n/a' },
    { code: 'executable-missing', severity: 'error' as const, message: 'the executable "Example" named in Info.plist is not in the bundle.' },
  ]
  const m = model(buildRecord({ problems: notes }))
  assert.deepEqual(m.problems.map((p) => p.code), ['executable-missing', 'icon-missing'])
  assert.equal(m.canInstall, false)
})

test('in-app and other browsers: no button, an "open in Safari" message', () => {
  const inApp = model(buildRecord(), WECHAT)
  assert.equal(inApp.showInstallButton, false)
  assert.match(inApp.openInSafari ?? '', /^WeChat's built-in browser cannot install apps\. Open this page in Safari/)
  const chrome = model(buildRecord(), CHROME_IOS)
  assert.equal(chrome.showInstallButton, false)
  assert.match(chrome.openInSafari ?? '', /Only Safari/)
  assert.equal(chrome.showQr, false)
})

test('Mac-looking Safari: the page decides between button and QR with the touch test', () => {
  const m = model(buildRecord(), MAC_SAFARI)
  assert.equal(m.showInstallButton, false)
  assert.equal(m.touchTest, 'navigator.maxTouchPoints > 1')
  assert.equal(m.showQr, true)
  assert.equal(m.qrText, URLS.installPage)
})

test('desktop shows the QR of the https page; Android is told it is an iOS app', () => {
  const desktop = model(buildRecord(), DESKTOP)
  assert.equal(desktop.showQr, true)
  assert.equal(desktop.showInstallButton, false)
  assert.equal(desktop.qrText, 'https://ota.example.com/i/bld_1')
  const android = model(buildRecord(), ANDROID)
  assert.equal(android.showQr, false)
  assert.match(android.wrongPlatform ?? '', /iOS app/)
})

test('minimum iOS: numeric comparison of dotted versions', () => {
  assert.equal(model(buildRecord({ minimumOSVersion: '17.5' }), SAFARI).minimumOsTooHigh, true)
  assert.equal(model(buildRecord({ minimumOSVersion: '17.4.1' }), SAFARI).minimumOsTooHigh, false)
  assert.equal(model(buildRecord({ minimumOSVersion: '17' }), SAFARI).minimumOsTooHigh, false)
  assert.equal(model(buildRecord({ minimumOSVersion: '9.3' }), SAFARI).minimumOsTooHigh, false, '9.3 < 17.4.1 numerically')
  assert.equal(model(buildRecord({ minimumOSVersion: '18.0' }), DESKTOP).minimumOsTooHigh, false, 'unknown iOS version: no claim')
  assert.equal(model(buildRecord({ minimumOSVersion: null }), SAFARI).minimumOsTooHigh, false)
})

test('insecure HTTP banner, history order and labels', () => {
  const older = buildRecord({}, { id: 'bld_0', version: '1.2.2', build: null, createdAt: '2026-10-01T08:00:00.000Z' })
  const current = buildRecord()
  const m = model(current, SAFARI, { insecureHttp: true, history: [current, older] })
  assert.match(m.insecureBanner ?? '', /plain HTTP: iOS will refuse to install/)
  assert.deepEqual(m.history.map((h) => [h.id, h.versionLabel, h.current]), [['bld_1', '1.2.3 (45)', true], ['bld_0', '1.2.2', false]])
})
