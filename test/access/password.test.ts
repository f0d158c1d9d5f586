// A password-protected app and channel over real HTTPS: the page asks once (Chromium fills the
// form), wrong passwords are refused and then throttled, the minted manifest/.ipa URLs work without
// cookies and expire with the server's clock, and a new password stops what the old one minted.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { api } from '../support/api.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { IPHONE, NO_CHROMIUM, NOW, UA, launchBrowser, visit } from '../web/browser.ts'
import { assetsOf, manifestUrlOf, tokenOf, uploadTo } from './access-helpers.ts'

let browser: Browser
before(async () => {
  if (!NO_CHROMIUM) browser = await launchBrowser()
})
after(async () => browser?.close())

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA.iphone },
  body: new URLSearchParams(fields).toString(),
})

async function passwordApp(t: Parameters<typeof startServer>[0]): Promise<{ server: TestServer; call: ReturnType<typeof api>; build: any }> {
  const server = await startServer(t)
  server.setNow(NOW)
  const call = api(server)
  const build = await uploadTo(server, fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), 'main')
  const set = await call('PUT', `/api/v1/apps/${build.app.id}/access`, { access: 'password', password: 'open sesame' })
  assert.deepEqual(set.body, { bundleId: build.app.bundleId, access: 'password', hasPassword: true })
  return { server, call, build }
}

test('password: the page asks once, then mints cookie-free links that expire with the clock', { skip: NO_CHROMIUM, timeout: 60_000 }, async (t) => {
  const { server, build } = await passwordApp(t)
  const locked = await server.request(`${server.url}/i/${build.id}`, { headers: { 'user-agent': UA.iphone } })
  assert.equal(locked.status, 200)
  assert.match(locked.text(), /id="unlock"/)
  assert.doesNotMatch(locked.text(), /itms-services|\/m\/|\/d\/|\/icon\//, 'nothing to install before the password')

  const page = await visit(browser, `${server.url}/apps/${build.app.id}`, IPHONE)
  t.after(() => page.close())
  await page.page.fill('#password', 'not it')
  await page.page.click('#unlock button')
  await page.page.waitForSelector('#access-error')
  assert.match(await page.page.locator('#access-error').textContent() ?? '', /Wrong password/)
  assert.equal(await page.page.locator('#install').count(), 0)

  await page.page.fill('#password', 'open sesame')
  await page.page.click('#unlock button')
  await page.page.waitForSelector('#install')
  const cookies = await page.page.context().cookies()
  assert.equal(cookies.length, 1)
  assert.deepEqual([cookies[0]!.httpOnly, cookies[0]!.secure, cookies[0]!.sameSite], [true, true, 'Lax'])
  assert.ok(cookies[0]!.expires * 1000 - Date.now() <= 3600_000 + 5000, 'a short-lived page cookie')
  const manifestUrl = manifestUrlOf((await page.page.locator('#install').getAttribute('href'))!)
  const grant = tokenOf(manifestUrl).grant
  assert.ok(grant, 'the links are bound to the password grant')
  // The other pages of the app open with the same cookie.
  await page.page.goto(`${server.url}/i/${build.id}`)
  assert.equal(await page.page.locator('#install').count(), 1)

  // iOS's installer: no cookies.
  const manifest = await server.request(manifestUrl)
  assert.equal(manifest.status, 200)
  const { ipa, icon } = assetsOf(manifest)
  assert.equal(tokenOf(ipa).grant, grant)
  assert.equal((await server.request(ipa)).body.length, build.size)
  assert.equal((await server.request(icon!)).status, 200)

  const ttl = server.app.services.config.linkTtlSeconds
  server.setNow(new Date(NOW.getTime() + (ttl + 1) * 1000))
  for (const url of [manifestUrl, ipa, icon!]) {
    const expired = await server.request(url)
    assert.equal(expired.status, 410, url)
    assert.match(expired.text(), /expired/)
  }
  // The page cookie has expired too (it never outlives the link TTL): the page asks again.
  await page.page.reload()
  assert.equal(await page.page.locator('#unlock').count(), 1)
})

test('password: wrong answers are throttled per client, and a new password stops what the old one minted', async (t) => {
  const { server, call, build } = await passwordApp(t)
  const pageUrl = `${server.url}/i/${build.id}`
  for (let i = 0; i < 5; i++) {
    const wrong = await server.request(pageUrl, form({ password: `guess ${i}`, scope: '' }))
    assert.equal(wrong.status, 403)
    assert.match(wrong.text(), /Wrong password/)
    assert.equal(wrong.headers['set-cookie'], undefined)
  }
  const throttled = await server.request(pageUrl, form({ password: 'open sesame', scope: '' }))
  assert.equal(throttled.status, 429, 'even the right password waits')
  assert.ok(Number(throttled.headers['retry-after']) > 0)
  server.setNow(new Date(NOW.getTime() + 61_000))

  const foreign = await server.request(pageUrl, { ...form({ password: 'open sesame', scope: '' }), headers: { ...form({}).headers, origin: 'https://evil.example' } })
  assert.equal(foreign.status, 403)
  const crossSite = await server.request(pageUrl, { ...form({ password: 'open sesame', scope: '' }), headers: { ...form({}).headers, origin: 'null', 'sec-fetch-site': 'cross-site' } })
  assert.equal(crossSite.status, 403)
  const right = await server.request(pageUrl, form({ password: 'open sesame', scope: '' }))
  assert.equal(right.status, 303)
  assert.equal(right.headers.location, pageUrl)
  const cookie = String(right.headers['set-cookie']).split(';')[0]!
  assert.match(String(right.headers['set-cookie']), /HttpOnly; SameSite=Lax; Secure/)
  const unlocked = await server.request(pageUrl, { headers: { cookie, 'user-agent': UA.iphone } })
  const href = /id="install"[^>]*href="([^"]+)"/.exec(unlocked.text())![1]!.replaceAll('&amp;', '&')
  const manifestUrl = manifestUrlOf(href)
  const { ipa } = assetsOf(await server.request(manifestUrl))
  assert.equal((await server.request(ipa, { headers: { range: 'bytes=0-9' } })).status, 206)

  // A channel with its own password is not opened by the app's.
  await uploadTo(server, fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), 'beta')
  assert.equal((await call('PATCH', `/api/v1/apps/${build.app.id}/channels/beta`, { access: 'password' })).body.error, 'bad-request', 'a password is required')
  const beta = await call('PATCH', `/api/v1/apps/${build.app.id}/channels/beta`, { access: 'password', password: 'beta only' })
  assert.deepEqual([beta.body.access, beta.body.hasPassword], ['password', true])
  const betaPage = await server.request(`${server.url}/apps/${build.app.id}?channel=beta`, { headers: { cookie, 'user-agent': UA.iphone } })
  assert.match(betaPage.text(), /id="unlock"/)
  assert.match(betaPage.text(), /name="scope" value="beta"/)

  // A new app password: everything minted under the old one stops at once.
  assert.equal((await call('PUT', `/api/v1/apps/${build.app.id}/access`, { access: 'password', password: 'new secret' })).status, 200)
  assert.equal((await server.request(manifestUrl)).status, 410)
  assert.equal((await server.request(ipa)).status, 410)
  assert.match((await server.request(pageUrl, { headers: { cookie } })).text(), /id="unlock"/, 'the old cookie opens nothing')
  // Back to public: no password, no form, links without a grant.
  const open = await call('PUT', `/api/v1/apps/${build.app.id}/access`, { access: 'public' })
  assert.deepEqual([open.body.access, open.body.hasPassword], ['public', false])
  const publicPage = (await server.request(pageUrl, { headers: { 'user-agent': UA.iphone } })).text()
  assert.equal(tokenOf(manifestUrlOf(/id="install"[^>]*href="([^"]+)"/.exec(publicPage)![1]!.replaceAll('&amp;', '&'))).grant, null)
  assert.equal((await call('PUT', `/api/v1/apps/${build.app.id}/access`, { access: 'public', password: 'nope nope' })).status, 400)
  assert.equal((await server.request(pageUrl, { ...form({ password: 'x' }), headers: { ...form({}).headers, 'content-length': '99999' }, body: 'x'.repeat(99_999) })).status, 413)
})
