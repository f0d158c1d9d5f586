// The whole UDID enrolment over real HTTPS: page → signed profile → the device's CMS answer → 301 →
// result page and cookie → the device in the API and on install pages.
import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import type { PlistDict } from '../../src/ipa/types.ts'
import { SAMPLE_UDIDS } from '../support/profiles.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { IPHONE_UA, deviceIdentity, deviceResponse, downloadLink, enroll, fetchProfile, htmlText, postAnswer, uploadAdHocBuild } from './enrollment-helpers.ts'

const UDID = SAMPLE_UDIDS[1] // 00008030-001A2B3C4D5E6F70, the A12+ form
const suite = suiteScope()
let server: TestServer

before(async () => {
  server = await startServer(suite, { organization: 'Example & Sons' })
})
test('enrolment: signed profile, device answer, 301, result page, API, install pages', { timeout: 60_000 }, async () => {
  const identity = deviceIdentity(suite)
  const inProfile = await uploadAdHocBuild(server, suite, { bundleId: 'com.example.listed', name: 'Listed App', devices: [SAMPLE_UDIDS[0], UDID.toLowerCase()] })
  const notInProfile = await uploadAdHocBuild(server, suite, { bundleId: 'com.example.unlisted', name: 'Unlisted App', devices: [SAMPLE_UDIDS[0]] })

  const { response, payload } = await enroll(server, identity, { UDID, PRODUCT: 'iPhone15,2', VERSION: '22D63', SERIAL: 'F2LXK0AAAAAA', DEVICE_NAME: 'Jane’s iPhone' })

  // The Profile Service payload, as Apple's OTA guide describes it.
  assert.equal(payload['PayloadType'], 'Profile Service')
  assert.equal(payload['PayloadVersion'], 1)
  assert.match(payload['PayloadUUID'] as string, /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/)
  assert.equal(payload['PayloadIdentifier'], 'localhost.airstrip.enroll')
  assert.equal(payload['PayloadOrganization'], 'Example & Sons')
  assert.equal(payload['PayloadDisplayName'], 'Example & Sons device registration')
  const content = payload['PayloadContent'] as PlistDict
  assert.deepEqual(content['DeviceAttributes'], ['UDID', 'PRODUCT', 'VERSION', 'SERIAL', 'DEVICE_NAME'])
  assert.match(content['URL'] as string, new RegExp(`^${server.url}/enroll/[A-Za-z0-9._-]+/device$`))
  assert.match(content['Challenge'] as string, /^[A-Za-z0-9_-]{43}$/)

  // iOS continues in Safari only after a 301 to an https page; the Location carries a lookup token, not the UDID.
  assert.equal(response.status, 301, response.text())
  const location = response.headers.location!
  assert.match(location, new RegExp(`^${server.url}/enroll/[A-Za-z0-9._-]+/done$`))
  assert.ok(!location.includes(UDID))

  const result = await server.request(location, { headers: { 'user-agent': IPHONE_UA } })
  assert.equal(result.status, 200)
  const cookie = String(result.headers['set-cookie'])
  assert.match(cookie, /^airstrip_device=[A-Za-z0-9._-]+; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax; Secure$/)
  const resultText = htmlText(result.text())
  assert.ok(resultText.includes('Jane’s iPhone'))
  assert.ok(resultText.includes('iPhone 14 Pro'))
  assert.ok(resultText.includes(UDID))
  assert.match(resultText, /✓ Listed App[\s\S]*Installs on this device/)
  assert.match(resultText, /✗ Unlisted App[\s\S]*Will not install: this device is not in the build's provisioning profile\./)
  assert.ok(result.text().includes('itms-services://?action=download-manifest'), 'an install link for the installable build')

  // The team sees it.
  const list = await server.request(`${server.url}/api/v1/devices`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(list.status, 200)
  const [device] = list.json().devices
  assert.equal(list.json().devices.length, 1)
  assert.equal(device.udid, UDID)
  assert.equal(device.name, 'Jane’s iPhone')
  assert.equal(device.product, 'iPhone15,2')
  assert.equal(device.model, 'iPhone 14 Pro')
  assert.equal(device.family, 'iphone')
  assert.equal(device.osVersion, '22D63')
  assert.equal(device.serial, 'F2LXK0AAAAAA')
  assert.equal(device.signatureVerified, true, 'the answer was signed by the certificate it carries')
  assert.equal(device.chainVerified, null, 'no device CA configured')
  assert.equal(device.enrollments, 1)
  assert.equal(device.tester, null)

  // Install pages in Safari carry the cookie: the verdict before tapping Install.
  const cookieHeader = cookie.split(';')[0]!
  const listed = htmlText((await server.request(inProfile.installPageUrl, { headers: { 'user-agent': IPHONE_UA, cookie: cookieHeader } })).text())
  assert.ok(listed.includes("✓ Jane’s iPhone is in this build's profile"), listed)
  const unlisted = htmlText((await server.request(notInProfile.installPageUrl, { headers: { 'user-agent': IPHONE_UA, cookie: cookieHeader } })).text())
  assert.ok(unlisted.includes("✗ Jane’s iPhone is not in this build's profile — installation will fail"))
  assert.ok(unlisted.includes('the team already sees “Jane’s iPhone” in its device list'))
  // Without the cookie: no verdict, an offer to check first.
  const anonymous = (await server.request(notInProfile.installPageUrl, { headers: { 'user-agent': IPHONE_UA } })).text()
  assert.ok(!anonymous.includes('id="device-check"'))
  assert.match(anonymous, new RegExp(`id="enroll-offer">[^<]*<a href="${server.url}/enroll">`))
  // A forged cookie is ignored.
  const forged = (await server.request(inProfile.installPageUrl, { headers: { 'user-agent': IPHONE_UA, cookie: `${cookieHeader.slice(0, -3)}abc` } })).text()
  assert.ok(!forged.includes('id="device-check"'))

  // Per build: which enrolled devices its profile misses.
  const missing = await server.request(`${server.url}/api/v1/builds/${notInProfile.id}/devices`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(missing.status, 200)
  assert.deepEqual(missing.json().missing.map((d: { udid: string }) => d.udid), [UDID])
  assert.equal(missing.json().summary, '1 enrolled device cannot install Unlisted App 1.2.3 (45)')
  const present = await server.request(`${server.url}/api/v1/builds/${inProfile.id}/devices`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.deepEqual(present.json().missing, [])
  assert.equal(present.json().provisioned[0].udid, UDID)
  const filtered = await server.request(`${server.url}/api/v1/devices?buildId=${notInProfile.id}&provisioned=false`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.deepEqual(filtered.json().devices.map((d: { udid: string; provisioned: boolean }) => [d.udid, d.provisioned]), [[UDID, false]])
  const provisionedForApp = await server.request(`${server.url}/api/v1/devices?appId=${inProfile.app.id}&provisioned=true`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(provisionedForApp.json().devices.length, 1)
})

test('an answer is single-use: replaying it is refused and stores nothing more', { timeout: 60_000 }, async () => {
  const identity = deviceIdentity(suite)
  const page = await server.request(`${server.url}/enroll`, { headers: { 'user-agent': IPHONE_UA } })
  const profileUrl = downloadLink(page.text())
  const profile = await fetchProfile(server, profileUrl, { signed: true })
  const content = profile.payload['PayloadContent'] as PlistDict
  const body = deviceResponse({ UDID: SAMPLE_UDIDS[0], PRODUCT: 'iPhone10,3', CHALLENGE: content['Challenge'] }, identity)
  assert.equal((await postAnswer(server, content['URL'] as string, body)).status, 301)
  const before = (await server.app.services.devices.store.getDeviceByUdid(SAMPLE_UDIDS[0]))!
  const replay = await postAnswer(server, content['URL'] as string, body)
  assert.equal(replay.status, 409)
  assert.match(replay.text(), /already been completed/)
  const afterReplay = (await server.app.services.devices.store.getDeviceByUdid(SAMPLE_UDIDS[0]))!
  assert.deepEqual(afterReplay, before)
  // Downloading the same profile link again after completion is refused too.
  const again = await server.request(profileUrl, { headers: { 'user-agent': IPHONE_UA } })
  assert.equal(again.status, 409)
  assert.match(again.headers['content-type']!, /text\/html/)
})

test('without a certificate of its own (plain HTTP behind a proxy) the profile goes out unsigned, and the page says so', { timeout: 60_000 }, async (t) => {
  const plain = await startServer(t, { insecureHttp: true })
  const page = await plain.request(`${plain.url}/enroll`, { headers: { 'user-agent': IPHONE_UA } })
  assert.match(htmlText(page.text()), /The profile is not signed, so Settings shows it as “Not Verified” in red/)
  const { payload, raw } = await fetchProfile(plain, downloadLink(page.text()), { signed: false })
  assert.ok(raw.body.subarray(0, 5).toString() === '<?xml', 'a bare XML plist')
  assert.equal(payload['PayloadType'], 'Profile Service')
  assert.match((payload['PayloadContent'] as PlistDict)['URL'] as string, new RegExp(`^${plain.url}/enroll/`))
  const { response } = await enroll(plain, deviceIdentity(t), { UDID: SAMPLE_UDIDS[0] })
  assert.equal(response.status, 301)
  const result = await plain.request(response.headers.location!)
  assert.doesNotMatch(String(result.headers['set-cookie']), /Secure/, 'no Secure flag on a plain-HTTP origin (it would never be sent back)')
})
