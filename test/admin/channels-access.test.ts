// Channels and access from the admin UI, end to end in real Chromium: upload to a channel, create
// a channel, make one invite-only, invite a tester, open the personal link on the iPhone viewport
// and follow its manifest and .ipa without cookies, revoke in the UI and see every URL refused;
// install counts on the build page; retention's dry run and apply.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { signInToAdmin, submitForm } from '../support/admin-session.ts'
import { fixture } from '../support/fixtures.ts'
import { waitFor } from '../support/notify-peers.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { DESKTOP, IPHONE, launchBrowser, NO_CHROMIUM, NOW } from '../web/browser.ts'

const PASSWORD = 'correct horse battery'
// Its profile and certificate are valid at NOW: the install page offers the Install button.
const IPA = fixture('ipa', 'bitbar-sample-latest-iOS.ipa')

describe('admin channels and access', { skip: NO_CHROMIUM }, () => {
  let browser: Browser
  before(async () => void (browser = await launchBrowser()))
  after(() => browser?.close())

  const adminPage = async (t: { after(fn: () => unknown): void }, server: TestServer): Promise<Page> => {
    server.setNow(NOW)
    await server.app.services.accounts.createUser({ email: 'root@example.com', name: 'Root', role: 'admin', password: PASSWORD })
    return (await signInToAdmin(t, browser, server, { email: 'root@example.com', password: PASSWORD }, DESKTOP)).page
  }
  const uploadTo = async (page: Page, server: TestServer, channel: string): Promise<string> => {
    await page.goto(`${server.url}/admin/upload`)
    await page.setInputFiles('input[type=file]', IPA)
    await page.fill('input[name=channel]', channel)
    await Promise.all([page.waitForURL(/\/admin\/builds\/[A-Za-z0-9_-]{22}$/), page.click('form[data-upload] button[type=submit]')])
    return new URL(page.url()).pathname.split('/').pop()!
  }

  it('invite-only channel: a personal link installs without cookies until revoked in the UI', async (t) => {
    const server = await startServer(t)
    const { meta, notifications, analytics } = server.app.services
    const page = await adminPage(t, server)
    const buildId = await uploadTo(page, server, 'beta')
    const build = (await meta.getBuild(buildId))!
    assert.equal(build.channel, 'beta')
    await notifications.store.createTester({ name: 'Tess', email: 'tess@example.com' })

    await page.goto(`${server.url}/admin/apps/${build.appId}`)
    await page.fill('input[name=name][placeholder=beta]', 'nightly')
    assert.equal(await submitForm(page, 'button:has-text("Create channel")'), 303)
    assert.equal(new URL(page.url()).pathname, `/admin/apps/${build.appId}/channels/nightly`)
    await page.goto(`${server.url}/admin/apps/${build.appId}/channels/beta`)
    await page.check('input[name=access][value=invite]')
    assert.equal(await submitForm(page, 'button:has-text("Save channel")'), 303)
    assert.match(await page.textContent('main') ?? '', /Access now: invite/)

    await page.goto(`${server.url}/admin/apps/${build.appId}`)
    assert.deepEqual(await page.locator('table.rows td[data-label=Channel] strong').allTextContents(), ['beta', 'nightly'])
    await page.selectOption('select[name=channel]', 'beta')
    assert.equal(await submitForm(page, 'button:has-text("Create personal link")'), 201)
    const personalLink = await page.inputValue('[data-secret]')
    assert.ok(personalLink.startsWith(`${server.url}/t/`), personalLink)

    // The public page of an invite-only build is refused; the personal link opens it on the phone.
    assert.equal((await server.request(`${server.url}/i/${buildId}`)).status, 403)
    const phone = await browser.newContext({ ...IPHONE, ignoreHTTPSErrors: true })
    t.after(() => phone.close())
    const tester = await phone.newPage()
    assert.equal((await tester.goto(personalLink))?.status(), 200)
    const itms = await tester.getAttribute('#install', 'href')
    const manifestUrl = new URL(itms!).searchParams.get('url')!
    const manifest = await server.request(manifestUrl)
    assert.equal(manifest.status, 200)
    const ipaUrl = /<key>url<\/key>\s*<string>([^<]+\.ipa)<\/string>/.exec(manifest.text())?.[1]?.replace(/&amp;/g, '&')
    assert.ok(ipaUrl, manifest.text())
    const ipa = await server.request(ipaUrl)
    assert.equal(ipa.status, 200)
    assert.equal(ipa.body.length, build.size)
    // The server records a completed download when it sees the last byte leave, which can be just
    // after the client has read it: wait for that record, then look at the page.
    await waitFor(async () => {
      await analytics.settled()
      const stats = await server.request(`${server.url}/api/v1/builds/${buildId}/analytics`, { headers: { authorization: `Bearer ${server.apiToken}` } })
      return stats.json<{ totals: { downloadsCompleted: number } }>().totals.downloadsCompleted === 1
    }, 'the completed download to be recorded')
    await page.goto(`${server.url}/admin/builds/${buildId}`)
    assert.equal(await page.textContent('[data-count=manifestFetches]'), '1')
    assert.equal(await page.textContent('[data-count=downloadsCompleted]'), '1')
    assert.match(await page.textContent('main') ?? '', /Tess <tess@example\.com>: \d+ views, 1 started, 1 completed/)

    await page.goto(`${server.url}/admin/apps/${build.appId}`)
    assert.equal(await submitForm(page, 'li:has-text("Tess") button:has-text("Revoke")'), 303)
    assert.match(await page.textContent('li:has-text("Tess")') ?? '', /revoked/)
    for (const url of [personalLink, manifestUrl, ipaUrl]) {
      const refused = await server.request(url)
      assert.ok([403, 410].includes(refused.status), `${url} → ${refused.status}`)
    }
  })

  it('retention: a dry run lists what would go, applying removes exactly that', async (t) => {
    const server = await startServer(t)
    const { meta } = server.app.services
    const page = await adminPage(t, server)
    const older = await uploadTo(page, server, 'nightly')
    server.setNow(new Date(NOW.getTime() + 60_000))
    const newer = await uploadTo(page, server, 'nightly')
    const kept = await uploadTo(page, server, 'main')
    const appId = (await meta.getBuild(newer))!.appId

    await page.goto(`${server.url}/admin/apps/${appId}/channels/nightly`)
    await page.fill('input[name=keepLast]', '1')
    assert.equal(await submitForm(page, 'button:has-text("Save channel")'), 303)
    await page.goto(`${server.url}/admin/apps/${appId}`)
    assert.equal(await submitForm(page, 'button:has-text("Retention: dry run")'), 200)
    assert.match(await page.textContent('h1') ?? '', /dry run/)
    assert.deepEqual(await page.locator('[data-deleted]').evaluateAll((items) => items.map((li) => (li as unknown as { dataset: { deleted: string } }).dataset.deleted)), [older])
    assert.ok(await meta.getBuild(older), 'a dry run deletes nothing')
    await page.check('input[name=confirm]')
    assert.equal(await submitForm(page, 'button:has-text("Apply retention")'), 200)
    assert.equal(await meta.getBuild(older), null)
    assert.ok(await meta.getBuild(newer))
    assert.ok(await meta.getBuild(kept))
  })
})
