// The enrolment page, the result page and the install page's device verdict in real headless
// Chromium with an iPhone user agent (the device's own POST is made by the test, as iOS makes it).
import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import jsqr from 'jsqr'
import type { Browser, BrowserContext } from 'playwright-core'
import { PNG } from 'pngjs'
import type { PlistDict } from '../../src/ipa/types.ts'
import { SAMPLE_UDIDS } from '../support/profiles.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { DESKTOP, IPHONE, NO_CHROMIUM, UA, launchBrowser, visit } from '../web/browser.ts'
import { deviceIdentity, deviceResponse, fetchProfile, postAnswer, uploadAdHocBuild } from './enrollment-helpers.ts'

const jsQR = jsqr.default
const HOSTILE_NAME = '<img src=x onerror=alert(1)> Jane’s "iPhone"'
const suite = suiteScope()
let server: TestServer
let browser: Browser | undefined

before(async () => {
  server = await startServer(suite)
  if (!NO_CHROMIUM) browser = await launchBrowser()
  suite.after(() => browser?.close())
})

test('iPhone Safari: the download button, the three steps, the known blockers', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const v = await visit(browser!, `${server.url}/enroll`, IPHONE)
  try {
    assert.equal(v.status, 200)
    const download = v.page.locator('#download')
    assert.ok(await download.isVisible())
    assert.match((await download.getAttribute('href'))!, new RegExp(`^${server.url}/enroll/[A-Za-z0-9._-]+/profile\\.mobileconfig$`))
    assert.equal(await v.page.locator('#steps li').count(), 3)
    const blockers = await v.page.locator('#blockers').innerText()
    for (const blocker of [/Use Safari/, /8 minutes/, /Stolen Device Protection/, /Lockdown Mode/]) assert.match(blockers, blocker)
    assert.match(await v.page.locator('#signature').innerText(), /signed with this server's certificate \(localhost:\d+\)/)
    assert.equal(await v.page.locator('#qr').count(), 0)
    assert.deepEqual(v.console.filter((line) => !line.startsWith('log')), [], 'no errors, no CSP violations')
    // Each visit gets its own download link (a session per visit).
    const second = await visit(browser!, `${server.url}/enroll`, IPHONE)
    assert.notEqual(await second.page.locator('#download').getAttribute('href'), await download.getAttribute('href'))
    await second.close()
  } finally {
    await v.close()
  }
})

test('desktop: a QR code of the page instead of a download; in-app browsers: open in Safari', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const desktop = await visit(browser!, `${server.url}/enroll`, DESKTOP)
  try {
    assert.equal(await desktop.page.locator('#download').count(), 0)
    assert.match(await desktop.page.locator('#qr').innerText(), /Open this page on the iPhone or iPad to register/)
    const png = PNG.sync.read(await desktop.page.locator('#qr .code').screenshot())
    assert.equal(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data, `${server.url}/enroll`)
  } finally {
    await desktop.close()
  }
  const inApp = await visit(browser!, `${server.url}/enroll`, { ...IPHONE, userAgent: UA.instagram })
  try {
    assert.match(await inApp.page.locator('#open-in-safari').innerText(), /Instagram's built-in browser cannot download profiles/)
    assert.equal(await inApp.page.locator('#download').count(), 0)
    assert.equal(await inApp.page.locator('#page-url').inputValue(), `${server.url}/enroll`)
  } finally {
    await inApp.close()
  }
})

test('a personal link names the tester and links the device; a revoked one is a clean 404 page', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const { invite, url } = await server.app.services.devices.createInvite('Jane@Example.com')
  const v = await visit(browser!, url, IPHONE)
  let profileUrl: string
  try {
    assert.equal(await v.page.locator('#tester').innerText(), 'Personal link for jane@example.com')
    profileUrl = (await v.page.locator('#download').getAttribute('href'))!
  } finally {
    await v.close()
  }
  const { payload } = await fetchProfile(server, profileUrl, { signed: true })
  const content = payload['PayloadContent'] as PlistDict
  const answer = await postAnswer(server, content['URL'] as string, deviceResponse({ UDID: SAMPLE_UDIDS[0], PRODUCT: 'iPad13,18', DEVICE_NAME: 'Lab iPad', CHALLENGE: content['Challenge'] }, deviceIdentity(suite)))
  assert.equal(answer.status, 301)
  assert.equal((await server.app.services.devices.store.getDeviceByUdid(SAMPLE_UDIDS[0]))?.tester, 'jane@example.com')

  await server.app.services.devices.store.deleteInvite(invite.id)
  const revoked = await visit(browser!, url, IPHONE)
  try {
    assert.equal(revoked.status, 404)
    assert.equal(await revoked.page.locator('h1').innerText(), 'This enrolment link no longer works')
  } finally {
    await revoked.close()
  }
})

test('after enrolling, install pages say whether this device is in the build\'s profile', { skip: NO_CHROMIUM, timeout: 90_000 }, async () => {
  const listed = await uploadAdHocBuild(server, suite, { bundleId: 'com.example.browser.listed', name: 'Listed', devices: [SAMPLE_UDIDS[1]] })
  const unlisted = await uploadAdHocBuild(server, suite, { bundleId: 'com.example.browser.unlisted', name: 'Unlisted', devices: [SAMPLE_UDIDS[0]] })
  const context: BrowserContext = await browser!.newContext({ ...IPHONE, ignoreHTTPSErrors: true })
  try {
    const page = await context.newPage()
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    // Before enrolling: the install page of a device-limited build offers to check first.
    await page.goto(unlisted.installPageUrl)
    assert.match(await page.locator('#enroll-offer').innerText(), /installs only on registered devices/)
    await page.locator('#enroll-offer a').click()
    await page.waitForURL(`${server.url}/enroll`)
    const profileUrl = (await page.locator('#download').getAttribute('href'))!

    // Safari downloads the profile; Settings installs it and the device POSTs its answer.
    const { payload } = await fetchProfile(server, profileUrl, { signed: true })
    const content = payload['PayloadContent'] as PlistDict
    const answer = await postAnswer(server, content['URL'] as string, deviceResponse({ UDID: SAMPLE_UDIDS[1], PRODUCT: 'iPhone17,3', VERSION: '22E240', DEVICE_NAME: HOSTILE_NAME, CHALLENGE: content['Challenge'] }, deviceIdentity(suite)))
    assert.equal(answer.status, 301)

    // …and Safari opens the 301 target.
    const result = await page.goto(answer.headers.location!)
    assert.equal(result?.status(), 200)
    assert.equal(await page.locator('#device-name').innerText(), HOSTILE_NAME, 'the name is text, never markup')
    assert.equal(await page.locator('#udid').innerText(), SAMPLE_UDIDS[1])
    const rows = await page.locator('#builds li').allInnerTexts()
    assert.ok(rows.some((row) => /✓ Listed/.test(row) && /Installs on this device/.test(row) && /Install/.test(row)), rows.join(' | '))
    assert.ok(rows.some((row) => /✗ Unlisted/.test(row) && /not in the build's provisioning profile/.test(row)), rows.join(' | '))
    const cookies = await context.cookies()
    const cookie = cookies.find((c) => c.name === 'airstrip_device')
    assert.ok(cookie, 'the device cookie is set')
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.secure, true)
    assert.equal(cookie.sameSite, 'Lax')
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie), '', 'HttpOnly: scripts cannot read it')

    await page.goto(listed.installPageUrl)
    assert.equal(await page.locator('#device-check strong').innerText(), `✓ ${HOSTILE_NAME} is in this build's profile`)
    assert.equal(await page.locator('#enroll-offer').count(), 0)
    await page.goto(unlisted.installPageUrl)
    assert.equal(await page.locator('#device-check strong').innerText(), `✗ ${HOSTILE_NAME} is not in this build's profile — installation will fail`)
    assert.match(await page.locator('#device-check').innerText(), /Ask the developer for a new build that includes this device/)
    assert.ok(await page.locator('#install').isVisible(), 'the Install button stays (the verdict informs, it does not hide)')

    // Back on the enrolment page, it knows this browser's device.
    await page.goto(`${server.url}/enroll`)
    assert.match(await page.locator('#known-device').innerText(), /already registered/)
    await page.waitForTimeout(100)
    assert.deepEqual(dialogs, [], 'no script from the device name ran')
  } finally {
    await context.close()
  }
})
