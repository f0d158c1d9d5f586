// What the pages contain: escaping, version history, weight, CSP, build problems — in headless Chromium.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { DESKTOP, IPHONE, NO_CHROMIUM, NOW, UA, launchBrowser, visit } from './browser.ts'

const HOSTILE = '<script>alert(1)</script> & ]]> "quoted"'
const suite = suiteScope()
let server: TestServer
let browser: Browser | undefined

before(async () => {
  server = await startServer(suite)
  server.setNow(NOW)
  if (!NO_CHROMIUM) browser = await launchBrowser()
  suite.after(() => browser?.close())
})

async function uploadSynthetic(info: Record<string, unknown>, notes?: string): Promise<{ id: string; installPageUrl: string; app: { id: string } }> {
  const path = join(tempDir(suite), 'synthetic.ipa')
  await buildIpa(path, { info })
  const response = await server.upload(path, notes === undefined ? {} : { notes })
  assert.equal(response.status, 201, response.text())
  return response.json()
}

test('a hostile title and release notes are shown as text, escaped once, and never run', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const notes = `First line ${HOSTILE}\n<img src=x onerror=alert(2)>\nLast line`
  const build = await uploadSynthetic({ CFBundleIdentifier: 'com.example.hostile', CFBundleDisplayName: HOSTILE }, notes)
  for (const url of [build.installPageUrl, `${server.url}/apps/${build.app.id}`, `${server.url}/`]) {
    const v = await visit(browser!, url, IPHONE)
    try {
      if (url === `${server.url}/`) {
        assert.ok((await v.page.locator('.list strong').allTextContents()).includes(HOSTILE))
      } else {
        assert.equal(await v.page.locator('h1').textContent(), HOSTILE)
        assert.equal(await v.page.locator('#notes').textContent(), notes)
        assert.equal(await v.page.locator('#notes').innerText(), notes, 'line breaks kept (white-space: pre-line)')
        assert.equal(await v.page.title(), `${HOSTILE} 1.2.3 (45)`)
      }
      assert.equal(await v.page.locator('main script:not([nonce]), main img[src="x"]').count(), 0, 'no injected elements')
      await v.page.waitForTimeout(100)
      assert.deepEqual(v.dialogs, [], 'no alert fired')
    } finally {
      await v.close()
    }
    const raw = (await server.request(url, { headers: { 'user-agent': UA.iphone } })).text()
    assert.ok(raw.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; ]]&gt; &quot;quoted&quot;'), 'escaped form in the HTML source')
    assert.ok(!raw.includes('<script>alert(1)'))
    if (url !== `${server.url}/`) assert.ok(raw.includes('&lt;img src=x onerror=alert(2)&gt;'))
  }
})

test('the app page lists the version history, newest first, linking to each build page', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const info = { CFBundleIdentifier: 'com.example.history', CFBundleDisplayName: 'History App' }
  server.setNow(new Date(NOW.getTime() - 86_400_000))
  const older = await uploadSynthetic({ ...info, CFBundleShortVersionString: '1.0', CFBundleVersion: '7' })
  server.setNow(NOW)
  const newer = await uploadSynthetic({ ...info, CFBundleShortVersionString: '1.1', CFBundleVersion: '8' })
  assert.equal(newer.app.id, older.app.id)

  const v = await visit(browser!, `${server.url}/apps/${newer.app.id}`, IPHONE)
  try {
    assert.match((await v.page.locator('.hero .sub').textContent())!, /Version 1\.1 \(8\)/, 'the app page shows the latest build')
    const rows = v.page.locator('#history li')
    assert.equal(await rows.count(), 2)
    assert.match((await rows.nth(0).innerText()), /1\.1 \(8\)[\s\S]*Latest/)
    assert.match((await rows.nth(1).innerText()), /1\.0 \(7\)/)
    assert.deepEqual(await v.page.locator('#history a').evaluateAll((links) => links.map((a) => (a as unknown as { href: string }).href)), [newer.installPageUrl, older.installPageUrl])
    await rows.nth(1).locator('a').click()
    await v.page.waitForURL(older.installPageUrl)
    assert.match(await v.page.locator('#history li').nth(1).innerText(), /1\.0 \(7\)[\s\S]*This build/)
  } finally {
    await v.close()
  }
})

test('pages weigh < 15 KB, request nothing outside the server, and raise no CSP violation', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const build = (await server.upload(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), { notes: 'Notes for the weight test.' })).json()
  const pages: Array<[string, string, typeof IPHONE]> = [
    ['iPhone install page', build.installPageUrl, IPHONE],
    ['desktop install page (with QR)', build.installPageUrl, DESKTOP],
    ['in-app install page', build.installPageUrl, { ...IPHONE, userAgent: UA.instagram }],
    ['app page', `${server.url}/apps/${build.app.id}`, DESKTOP],
    ['home page', `${server.url}/`, IPHONE],
  ]
  for (const [name, url, visitor] of pages) {
    const v = await visit(browser!, url, visitor)
    try {
      const csp = v.headers['content-security-policy'] ?? ''
      assert.match(csp, /default-src 'none'/, `${name}: CSP header`)
      assert.match(csp, /script-src 'nonce-[^']+'/)
      assert.equal(v.headers['cache-control'], 'no-store', `${name}: links inside are minted per render`)
      const raw = await server.request(url, { headers: { 'user-agent': String(visitor.userAgent) } })
      assert.ok(raw.body.length < 15_000, `${name}: ${raw.body.length} bytes of HTML+CSS+JS`)
      const rawNonce = /style-src 'nonce-([^']+)'/.exec(String(raw.headers['content-security-policy']))?.[1]
      const tags = raw.text().match(/<(?:style|script)\b[^>]*>/g) ?? []
      assert.ok(tags.length > 0 && tags.every((tag) => tag.includes(` nonce="${rawNonce}"`)), `${name}: every inline style/script carries this response's nonce`)
      for (const [, link] of raw.text().matchAll(/\s(?:src|href)="([^"]*)"/g)) {
        assert.ok(link!.startsWith(`${server.url}/`) || link === 'data:,' || link!.startsWith('itms-services:'), `${name}: link to ${link}`)
      }
      for (const request of v.requests) assert.ok(request.startsWith(`${server.url}/`), `${name}: request to ${request}`)
      assert.deepEqual(v.console, [], `${name}: no console messages (CSP violations, errors)`)
    } finally {
      await v.close()
    }
  }
})

test('build problems: an expired profile and an App Store build have no Install button, and say why', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const cases: Array<[string, RegExp]> = [
    ['lagunitas-Sample.ipa', /provisioning profile has expired: installation will fail/],
    ['appinfo-ipad.ipa', /signed for the App Store: it cannot be installed from a link/],
  ]
  for (const [file, reason] of cases) {
    const build = (await server.upload(fixture('ipa', file))).json()
    const v = await visit(browser!, build.installPageUrl, IPHONE)
    try {
      assert.equal(await v.page.locator('#install').count(), 0, `${file}: no Install button`)
      const blocked = v.page.locator('#blocked')
      assert.ok(await blocked.isVisible())
      const text = await blocked.innerText()
      assert.match(text, /This build can’t be installed/)
      assert.match(text, reason)
      assert.match(await v.page.locator('.facts').innerText(), /Profile\s+Expired/)
    } finally {
      await v.close()
    }
  }
})
