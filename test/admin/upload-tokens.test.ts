// The admin UI's build flow in real Chromium: drag-and-drop upload with a real progress bar (and
// the same form without JavaScript), build details with inspect's findings and doctor's checks,
// and API tokens created and revoked in the UI.
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core'
import { signInToAdmin } from '../support/admin-session.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { DESKTOP, IPHONE, launchBrowser, NO_CHROMIUM } from '../web/browser.ts'

const PASSWORD = 'correct horse battery'
const BIG = fixture('ipa', 'bitbar-BitBarSampleApp.ipa')
const SMALL = fixture('ipa', 'appinfo-iphone.ipa')

describe('admin builds and tokens', { skip: NO_CHROMIUM }, () => {
  let browser: Browser
  before(async () => void (browser = await launchBrowser()))
  after(() => browser?.close())

  const signedIn = async (t: { after(fn: () => unknown): void }, server: TestServer, options: BrowserContextOptions = DESKTOP): Promise<BrowserContext> => {
    if (!(await server.app.services.accounts.store.findCredentials('dev@example.com'))) {
      await server.app.services.accounts.createUser({ email: 'dev@example.com', name: 'Dev', role: 'developer', password: PASSWORD })
    }
    const { context, page } = await signInToAdmin(t, browser, server, { email: 'dev@example.com', password: PASSWORD }, options)
    await page.close()
    return context
  }

  it('uploads a chosen file with a real progress bar to completion, then shows the build (laptop)', async (t) => {
    const server = await startServer(t)
    const context = await signedIn(t, server)
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())))
    page.on('pageerror', (e) => void problems.push(e.message))
    await page.goto(`${server.url}/admin/upload`)
    // ~2 s on the wire: the bar moves through many real `progress` events.
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2_000_000 })
    // Record every change of the bar where it survives the navigation that follows the upload.
    // (Browser-side code as strings: the tests' TypeScript has no DOM types.)
    await page.evaluate(`{
      const bar = document.querySelector('[data-progress]')
      new MutationObserver(() => {
        const log = JSON.parse(sessionStorage.getItem('progress') ?? '[]')
        log.push([bar.value, bar.max])
        sessionStorage.setItem('progress', JSON.stringify(log))
      }).observe(bar, { attributes: true })
    }`)
    await page.setInputFiles('input[type=file]', BIG)
    assert.match(await page.textContent('[data-file]') ?? '', /bitbar-BitBarSampleApp\.ipa · 3\.6 MB/)
    await page.fill('textarea[name=notes]', '- first\n- second')
    await Promise.all([page.waitForURL(/\/admin\/builds\/[A-Za-z0-9_-]{22}$/, { timeout: 60_000 }), page.click('form[data-upload] button[type=submit]')])

    const log = JSON.parse(await page.evaluate<string>(`sessionStorage.getItem('progress') ?? '[]'`)) as Array<[number, number]>
    const moves = log.filter(([value, max]) => max > 1 && value > 0)
    assert.ok(moves.length >= 3, `the bar moved in steps: ${JSON.stringify(log)}`)
    const [lastValue, lastMax] = moves.at(-1)!
    assert.equal(lastValue, lastMax, 'it reached the end')
    assert.ok(lastMax >= statSync(BIG).size, 'the total is the whole request')
    assert.ok(moves.some(([value, max]) => value < max / 2), 'and it passed through the middle')

    const build = (await server.app.services.meta.listBuilds({ limit: 5 })).builds[0]!
    assert.equal(new URL(page.url()).pathname, `/admin/builds/${build.id}`)
    assert.equal(build.notes, '- first\n- second')
    assert.deepEqual(await page.locator('.notes-md li').allTextContents(), ['first', 'second'])
    assert.equal(await page.locator('.findings li').count(), Math.max(build.info.problems.length, 0))
    for (const problem of build.info.problems) assert.equal(await page.locator(`.findings code:text-is("${problem.code}")`).count(), 1)
    assert.deepEqual(problems, [])

    await Promise.all([page.waitForURL(/\/doctor$/, { timeout: 60_000 }), page.click('text=Run doctor')])
    assert.equal(await page.textContent('h1'), 'Doctor')
    assert.ok((await page.locator('.findings li').count()) >= 5, 'doctor lists its checks')
    assert.match(await page.textContent('.summary') ?? '', /\d+ passed/)
  })

  it('takes a dropped file on the iPhone viewport, and the plain form without JavaScript', async (t) => {
    const server = await startServer(t)
    const phone = await signedIn(t, server, IPHONE)
    const page = await phone.newPage()
    await page.goto(`${server.url}/admin/upload`)
    await page.evaluate(`{
      const bytes = Uint8Array.from(atob(${JSON.stringify(readFileSync(SMALL).toString('base64'))}), (c) => c.charCodeAt(0))
      const transfer = new DataTransfer()
      transfer.items.add(new File([bytes], 'AppInfo.ipa', { type: 'application/octet-stream' }))
      const zone = document.querySelector('[data-dropzone]')
      for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }))
    }`)
    assert.match(await page.textContent('[data-file]') ?? '', /^AppInfo\.ipa/)
    const fits = await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')
    assert.ok(fits, 'the upload page fits the phone screen')
    await Promise.all([page.waitForURL(/\/admin\/builds\//), page.click('form[data-upload] button[type=submit]')])
    assert.match(await page.textContent('h1') ?? '', /AppInfoDemo|AppInfo/)

    // Without JavaScript the same form posts multipart and lands on the build page.
    const noScript = await signedIn(t, server, { ...DESKTOP, javaScriptEnabled: false })
    const plain = await noScript.newPage()
    await plain.goto(`${server.url}/admin/upload`)
    await plain.setInputFiles('input[type=file]', fixture('ipa', 'lagunitas-Sample.ipa'))
    await plain.fill('textarea[name=notes]', 'no JS')
    await Promise.all([plain.waitForURL(/\/admin\/builds\//), plain.click('form[data-upload] button[type=submit]')])
    const builds = (await server.app.services.meta.listBuilds({ limit: 5 })).builds
    assert.equal(builds.length, 2)
    assert.equal(builds[0]!.notes, 'no JS')
    // A non-.ipa is refused with inspect's reason, on a page (not a stack trace).
    await plain.goto(`${server.url}/admin/upload`)
    await plain.setInputFiles('input[type=file]', { name: 'notes.ipa', mimeType: 'application/octet-stream', buffer: Buffer.from('not a zip at all') })
    const refused = plain.waitForResponse((r) => r.request().method() === 'POST')
    const refusalShown = plain.waitForEvent('load')
    await plain.click('form[data-upload] button[type=submit]')
    assert.equal((await refused).status(), 422)
    await refusalShown
    assert.match(await plain.textContent('main') ?? '', /not-a-zip/)
  })

  it('creates an app-bound upload-only token shown once, which works until revoked in the UI', async (t) => {
    const server = await startServer(t)
    assert.equal((await server.upload(SMALL)).status, 201)
    const context = await signedIn(t, server)
    const page = await context.newPage()
    await page.goto(`${server.url}/admin/tokens`)
    await page.fill('input[name=name]', 'github-actions')
    await page.check('input[name=scope][value=upload]')
    await page.selectOption('select[name=bundleId]', 'com.icyleaf.AppInfoDemo')
    await page.click('button:has-text("Create token")')
    const token = await page.inputValue('[data-secret]')
    assert.match(token, /^as_[A-Za-z0-9_-]{43}$/)

    assert.equal((await server.upload(SMALL, { token })).status, 201, 'it uploads its app')
    assert.equal((await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'), { token })).status, 403, 'not another app')
    assert.equal((await server.request(`${server.url}/api/v1/builds`, { headers: { authorization: `Bearer ${token}` } })).status, 403, 'and nothing else')

    await page.goto(`${server.url}/admin/tokens`)
    const row = page.locator('tr', { hasText: 'github-actions' })
    assert.match(await row.textContent() ?? '', /upload only.*com\.icyleaf\.AppInfoDemo.*by Dev/s)
    assert.equal(await page.locator(`text=${token}`).count(), 0, 'the list never shows the token')
    // Already on /admin/tokens: waitForURL would not wait; the next page's load does.
    await Promise.all([page.waitForEvent('load'), row.locator('button:has-text("Revoke")').click()])
    assert.equal(page.url(), `${server.url}/admin/tokens`)
    assert.equal(await page.locator('tr', { hasText: 'github-actions' }).count(), 0)
    assert.equal((await server.upload(SMALL, { token })).status, 401, 'revoked at once')
  })
})
