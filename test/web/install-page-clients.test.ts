// The install page as each kind of visitor sees it, in real headless Chromium against a real server.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import jsqr from 'jsqr'
import type { Browser } from 'playwright-core'
import { PNG } from 'pngjs'
import { fixture } from '../support/fixtures.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { DESKTOP, IPHONE, NO_CHROMIUM, NOW, UA, launchBrowser, visit } from './browser.ts'

// jsqr is CommonJS: Node hands over the function, TypeScript (nodenext) types the module object.
const jsQR = jsqr.default
const SCREENSHOT = '/tmp/airstrip-install-page.png'
const cleanups: Array<() => unknown> = []
let server: TestServer
let browser: Browser | undefined
let build: { id: string; installPageUrl: string; app: { id: string } }

before(async () => {
  server = await startServer({ after: (fn) => void cleanups.push(fn) })
  server.setNow(NOW)
  const notes = 'Login works again.\nNew onboarding screens.\nKnown issue: dark mode icons.'
  build = (await server.upload(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), { notes })).json()
  if (!NO_CHROMIUM) browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  for (const cleanup of cleanups.reverse()) await cleanup()
})

test('iPhone Safari: a visible Install button whose itms-services link yields the manifest; no QR code', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const v = await visit(browser!, build.installPageUrl, IPHONE)
  try {
    const install = v.page.locator('#install')
    assert.ok(await install.isVisible(), 'Install button visible')
    const box = await install.boundingBox()
    assert.ok(box && box.height >= 44 && box.width >= 300, `a big tap target (${JSON.stringify(box)})`)
    const href = (await install.getAttribute('href'))!
    assert.ok(href.startsWith('itms-services://?action=download-manifest&url='), href)
    const manifestUrl = new URL(href).searchParams.get('url')!
    assert.ok(manifestUrl.startsWith(`${server.url}/m/`), manifestUrl)
    const manifest = await server.request(manifestUrl)
    assert.equal(manifest.status, 200)
    assert.match(String(manifest.headers['content-type']), /^text\/xml/)
    assert.match(manifest.text(), /<key>bundle-identifier<\/key>\s*<string>com\.bitbar\.BitBarSample<\/string>/)

    const raw = (await server.request(build.installPageUrl, { headers: { 'user-agent': UA.iphone } })).text()
    assert.match(raw, /href="itms-services:\/\/\?action=download-manifest&amp;url=https%3A%2F%2F/, 'the & is escaped exactly once in the HTML source')
    assert.doesNotMatch(raw, /&amp;amp;/)

    assert.equal(await v.page.locator('#qr').count(), 0, 'no QR code on the phone itself')
    assert.equal(await v.page.locator('#open-in-safari').count(), 0)
    const icon = v.page.locator('.hero img.icon')
    assert.ok((await icon.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) > 0, 'the signed icon URL loads')
    const text = await v.page.locator('main').innerText()
    for (const expected of ['BitBarSample', 'Version 1.0 (1)', '1.1 MB', 'iOS 14 or later', 'iPhone, iPad', 'Development', '146 registered devices', 'Developer Mode', 'Login works again.\nNew onboarding screens.']) {
      assert.ok(text.includes(expected), `page shows ${JSON.stringify(expected)}`)
    }
    await v.page.screenshot({ path: SCREENSHOT, fullPage: true })
  } finally {
    await v.close()
  }
})

test('desktop Chrome: a QR code of the page URL (decoded from a screenshot), no Install button', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const v = await visit(browser!, build.installPageUrl, DESKTOP)
  try {
    const qr = v.page.locator('#qr')
    assert.ok(await qr.isVisible())
    assert.match(await qr.innerText(), /Open this page on your iPhone/)
    const png = PNG.sync.read(await v.page.locator('#qr .code').screenshot())
    const decoded = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)
    assert.ok(decoded, 'the QR code decodes')
    assert.equal(decoded.data, build.installPageUrl, 'the QR encodes the https page, never the itms-services link')
    assert.equal(await v.page.locator('#install').count(), 0)
  } finally {
    await v.close()
  }
})

test('app page on desktop: the QR code encodes the app page (always the latest build)', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const appUrl = `${server.url}/apps/${build.app.id}`
  const v = await visit(browser!, appUrl, DESKTOP)
  try {
    const png = PNG.sync.read(await v.page.locator('#qr .code').screenshot())
    assert.equal(jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data, appUrl)
  } finally {
    await v.close()
  }
})

test('Instagram in-app browser: "open in Safari" with the link to copy; no Install button, no QR', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const v = await visit(browser!, build.installPageUrl, { ...IPHONE, userAgent: UA.instagram })
  try {
    const banner = v.page.locator('#open-in-safari')
    assert.ok(await banner.isVisible())
    const text = await banner.innerText()
    assert.match(text, /Open in Safari/)
    assert.match(text, /Instagram/)
    assert.equal(await v.page.locator('#page-url').inputValue(), build.installPageUrl)
    assert.equal(await v.page.locator('#install').count(), 0)
    assert.equal(await v.page.locator('#qr').count(), 0)
    await v.page.locator('[data-copy]').click()
    // The clipboard write settles asynchronously: wait for the label to change rather than racing it.
    await v.page.locator('[data-copy]', { hasText: 'Copied' }).waitFor({ timeout: 15_000 })
    assert.equal(await v.page.locator('[data-copy]').innerText(), 'Copied')
    assert.deepEqual(v.console.filter((line) => /error/i.test(line)), [])
  } finally {
    await v.close()
  }
})

test('iPad in desktop mode (Mac Safari UA): the page decides with the touch test', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const ipad = await visit(browser!, build.installPageUrl, { userAgent: UA.macSafari, viewport: { width: 1024, height: 1366 }, hasTouch: true, maxTouchPoints: 5 })
  try {
    assert.ok((await ipad.page.evaluate<number>('navigator.maxTouchPoints')) > 1, 'Chromium emulates an iPad touch screen')
    assert.ok(await ipad.page.locator('#install').isVisible(), 'touch screen: Install button')
    assert.equal(await ipad.page.locator('#qr').isVisible(), false)
  } finally {
    await ipad.close()
  }
  const mac = await visit(browser!, build.installPageUrl, { userAgent: UA.macSafari, viewport: { width: 1280, height: 800 } })
  try {
    assert.equal(await mac.page.locator('#install').isVisible(), false, 'a Mac: no Install button')
    assert.ok(await mac.page.locator('#qr').isVisible())
  } finally {
    await mac.close()
  }
})
