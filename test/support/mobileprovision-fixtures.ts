/**
 * What each file in test/fixtures/mobileprovision/ must yield, taken from its MANIFEST.md and
 * cross-checked with `openssl smime -verify -noverify` + Python plistlib + `openssl x509`
 * (never from Airstrip's own output). Shared so IPA tests can check embedded profiles too.
 */
import type { ErrorCode } from '../../src/errors.ts'
import type { ProfileEncoding, ProfileKind } from '../../src/ipa/types.ts'

export interface ExpectedProfile {
  kind: ProfileKind
  encoding: ProfileEncoding
  name: string
  uuid: string
  teamId: string
  teamName: string
  applicationIdentifier: string
  createdAt: string
  expiresAt: string
  provisionsAllDevices: boolean
  platforms: string[]
  signers: string[]
  deviceCount: number
  sampleDevice?: string
  /** DeveloperCertificates that are real certificates, in order. */
  certificates: Array<{ subject: string; notAfter: string }>
}

export interface ExpectedError {
  error: ErrorCode
  message: RegExp
}

const IOS_SIGNERS = ['Apple iPhone Certification Authority', 'Apple iPhone OS Provisioning Profile Signing', 'Apple Root CA']
const OLD_IOS_SIGNERS = ['Apple iPhone Certification Authority', 'Apple iPhone OS Provisioning Profile Signing', 'Apple Root Certificate Authority']
const MACOS_SIGNERS = ['Apple Worldwide Developer Relations Certification Authority', 'Apple Root CA', 'Mac OS X Provisioning Profile Signing']
const NICELIVING = {
  teamId: 'WKR87TTKML',
  teamName: 'Niceliving (Beijing) Technology Co., Ltd.',
  applicationIdentifier: 'WKR87TTKML.com.icyleaf.appinfo.test',
  provisionsAllDevices: false,
}
const NICELIVING_DISTRIBUTION = { subject: 'Apple Distribution: Niceliving (Beijing) Technology Co., Ltd. (WKR87TTKML)', notAfter: '2020-10-24T08:40:28.000Z' }
const SHEN_WANG_DEVELOPMENT = { subject: 'Apple Development: Shen Wang (A3Z3NZQ8V3)', notAfter: '2021-05-28T13:33:21.000Z' }
/** The synthetic enterprise profile behind appinfo-plist, appinfo-bplist and appinfo-signed_plist. */
const ICYLEAF_SYNTHETIC: Omit<ExpectedProfile, 'encoding' | 'signers'> = {
  kind: 'enterprise',
  name: 'com.icyleaf.ios',
  uuid: '12345678-5af4-4b93-b7e1-ca71e35562e1',
  teamId: '1234567890',
  teamName: 'icyleaf',
  applicationIdentifier: '1234567890.com.icyleaf.ios',
  createdAt: '2019-06-20T11:47:07.000Z',
  expiresAt: '2020-06-19T11:47:07.000Z',
  provisionsAllDevices: true,
  platforms: ['iOS'],
  deviceCount: 0,
  // Its only DeveloperCertificates entry is not base64 ("Sample..."), so not a certificate.
  certificates: [],
}

export const FIXTURE_EXPECTATIONS: Record<string, ExpectedProfile | ExpectedError> = {
  'appinfo-ios_adhoc.mobileprovision': {
    ...NICELIVING, kind: 'ad-hoc', encoding: 'cms', name: 'iOS Full AdHoc', uuid: '7d02c76e-f937-40e9-bdac-a5a389612352',
    createdAt: '2020-07-21T08:44:54.000Z', expiresAt: '2020-10-24T08:40:28.000Z', platforms: ['iOS'], signers: IOS_SIGNERS,
    deviceCount: 1, sampleDevice: 'e801228c2086d3aacc917b9c3d19bfa56efcab5b', certificates: [NICELIVING_DISTRIBUTION],
  },
  'appinfo-ios_appstore.mobileprovision': {
    ...NICELIVING, kind: 'app-store', encoding: 'cms', name: 'iOS Full AppStore', uuid: 'cff15ed3-7c89-4c6d-b6fd-0a9c57675a14',
    createdAt: '2020-07-21T08:45:25.000Z', expiresAt: '2020-10-24T08:40:28.000Z', platforms: ['iOS'], signers: IOS_SIGNERS,
    deviceCount: 0, certificates: [NICELIVING_DISTRIBUTION],
  },
  'appinfo-ios_development.mobileprovision': {
    ...NICELIVING, kind: 'development', encoding: 'cms', name: 'iOS Full Development', uuid: '9b42a96b-b520-40ef-9748-eee6e7c40f0b',
    createdAt: '2020-07-21T08:43:27.000Z', expiresAt: '2021-07-21T08:43:27.000Z', platforms: ['iOS'], signers: IOS_SIGNERS,
    deviceCount: 1, sampleDevice: 'e801228c2086d3aacc917b9c3d19bfa56efcab5b', certificates: [SHEN_WANG_DEVELOPMENT],
  },
  'appinfo-profile.mobileprovision': {
    kind: 'development', encoding: 'cms', name: 'iOS Team Provisioning Profile: com.icyleaf.iOS', uuid: '5a7e37d2-052c-40f1-bf02-f493f28f2e3e',
    teamId: 'KJSWUGJ39S', teamName: 'Shen Wang', applicationIdentifier: 'KJSWUGJ39S.com.icyleaf.iOS',
    createdAt: '2019-09-16T08:11:28.000Z', expiresAt: '2019-09-23T08:11:28.000Z', provisionsAllDevices: false, platforms: ['iOS'],
    signers: IOS_SIGNERS, deviceCount: 1, sampleDevice: '00008020-001430D41A68002E',
    certificates: [
      { subject: 'iPhone Developer: icyleaf.cn@gmail.com (7MTJ2DCLYY)', notAfter: '2020-09-15T08:01:27.000Z' },
      { subject: 'Apple Development: icyleaf.cn@gmail.com (7MTJ2DCLYY)', notAfter: '2020-07-22T10:12:39.000Z' },
    ],
  },
  'appinfo-NotificationService.appex-embedded.mobileprovision': {
    ...NICELIVING, kind: 'ad-hoc', encoding: 'cms', name: 'match AdHoc com.haohaozhu.shaijia.NotificationService',
    uuid: '5e4d4106-8f31-436b-92ed-d4ec68f80e4f', applicationIdentifier: 'WKR87TTKML.com.haohaozhu.shaijia.NotificationService',
    createdAt: '2020-12-28T10:07:31.000Z', expiresAt: '2021-10-26T03:12:17.000Z', platforms: ['iOS'], signers: IOS_SIGNERS,
    deviceCount: 90, sampleDevice: '5d07ccce9777346e22506a411be37136976515dd',
    certificates: [{ subject: NICELIVING_DISTRIBUTION.subject, notAfter: '2021-10-26T03:12:17.000Z' }],
  },
  'appinfo-bplist.mobileprovision': { ...ICYLEAF_SYNTHETIC, encoding: 'binary-plist', signers: [] },
  'appinfo-plist.mobileprovision': { ...ICYLEAF_SYNTHETIC, encoding: 'xml-plist', signers: [] },
  'appinfo-signed_plist.mobileprovision': { ...ICYLEAF_SYNTHETIC, encoding: 'cms', signers: ['icyleaf'] },
  'appinfo-macos_development.provisionprofile': {
    // No get-task-allow at all: development because of the device plus the development certificate.
    ...NICELIVING, kind: 'development', encoding: 'cms', name: 'macOS Full development', uuid: '6768abe5-58b6-4d6f-8427-b8271e0b2655',
    createdAt: '2020-07-21T08:44:02.000Z', expiresAt: '2021-07-21T08:44:02.000Z', platforms: ['OSX'], signers: MACOS_SIGNERS,
    deviceCount: 1, sampleDevice: 'CA0D8C4F-11CA-536F-BDCD-163DD790C48F', certificates: [SHEN_WANG_DEVELOPMENT],
  },
  'appinfo-macos_appstore.provisionprofile': {
    ...NICELIVING, kind: 'app-store', encoding: 'cms', name: 'macOS Full appstore', uuid: 'c74f4e8b-c078-4ec2-84de-ab31755eea53',
    createdAt: '2020-07-21T08:46:19.000Z', expiresAt: '2020-10-24T08:40:28.000Z', platforms: ['OSX'], signers: MACOS_SIGNERS,
    deviceCount: 0, certificates: [NICELIVING_DISTRIBUTION],
  },
  'appinfo-invalid_empty.mobileprovision': { error: 'invalid-profile', message: /is empty/ },
  'appinfo-invalid_missing_plist_block.mobileprovision': { error: 'invalid-profile', message: /missing root element/ },
  'appinfo-invalid_missing_plist_tag.mobileprovision': { error: 'invalid-profile', message: /unclosed xml tag\(s\): plist/ },
  'fastlane-test.mobileprovision': {
    kind: 'app-store', encoding: 'cms', name: 'tools.fastlane.app AppStore', uuid: '98264c6b-5151-4349-8d0f-66691e48ae35',
    teamId: '439BBM9367', teamName: 'Felix Krause', applicationIdentifier: '439BBM9367.tools.fastlane.app',
    createdAt: '2015-11-08T21:09:03.000Z', expiresAt: '2016-11-07T20:58:52.000Z', provisionsAllDevices: false, platforms: ['iOS'],
    signers: OLD_IOS_SIGNERS, deviceCount: 0,
    certificates: [{ subject: 'iPhone Distribution: Felix Krause (439BBM9367)', notAfter: '2016-11-07T20:58:52.000Z' }],
  },
  'fastlane-AppStore_net.sunapps.9.watch.mobileprovision': {
    kind: 'app-store', encoding: 'cms', name: 'net.sunapps.9.watch AppStore', uuid: 'a287f946-0c82-434d-b034-d59682b15a42',
    teamId: '5A997XSHK2', teamName: 'SunApps GmbH', applicationIdentifier: '5A997XSHK2.net.sunapps.9.watch',
    createdAt: '2015-08-11T17:37:28.000Z', expiresAt: '2015-11-25T22:45:50.000Z', provisionsAllDevices: false, platforms: ['iOS'],
    signers: OLD_IOS_SIGNERS, deviceCount: 0,
    certificates: [{ subject: 'iOS Distribution: SunApps GmbH', notAfter: '2015-11-25T22:45:50.000Z' }],
  },
  'fastlane-very-capable-app-embedded.mobileprovision': {
    kind: 'development', encoding: 'cms', name: 'org.fastlane.very-capable-app Development', uuid: '12345678-1234-1234-1234-123456789012',
    teamId: 'TestFixture', teamName: 'TestFixture', applicationIdentifier: 'TestFixture.org.fastlane.very-capable-app',
    createdAt: '2018-04-07T01:27:21.000Z', expiresAt: '2019-04-07T01:27:21.000Z', provisionsAllDevices: false, platforms: ['iOS'],
    signers: ['TestFixture'], deviceCount: 1, sampleDevice: '1234567890123456789012345678901234567890',
    certificates: [{ subject: 'TestFixture', notAfter: '2028-04-04T01:11:26.000Z' }],
  },
  'fastlane-downloaded_provisioning_profile.mobileprovision': {
    // Portal API output: no Platform key, the only certificate is the placeholder "REDACTED".
    kind: 'app-store', encoding: 'xml-plist', name: 'App Name', uuid: 'REDACRED', teamId: '5A997XSHK2', teamName: 'SunApps GmbH',
    applicationIdentifier: '5A997XSHK2.net.sunapps.9', createdAt: '2015-02-21T15:57:07.000Z', expiresAt: '2016-02-10T23:44:20.000Z',
    provisionsAllDevices: false, platforms: [], signers: [], deviceCount: 0, certificates: [],
  },
  'appaloosa-adhoc.mobileprovision': { error: 'invalid-profile', message: /neither a CMS SignedData envelope nor a property list \(starts with 0x013c3f78\)/ },
}
