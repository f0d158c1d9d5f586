// The admin pages without JavaScript (every form is a plain POST with its CSRF token) and on a
// phone (nothing wider than the screen): testers and groups, devices and enrolment links,
// webhooks, users, the account page.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContextOptions } from 'playwright-core'
import { WEBHOOK_EVENTS } from '../../src/store/notification-records.ts'
import { signInToAdmin, submitForm } from '../support/admin-session.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { DESKTOP, IPHONE, launchBrowser, NO_CHROMIUM } from '../web/browser.ts'

const PASSWORD = 'correct horse battery'

describe('admin pages', { skip: NO_CHROMIUM }, () => {
  let browser: Browser
  before(async () => void (browser = await launchBrowser()))
  after(() => browser?.close())

  const signIn = (t: { after(fn: () => unknown): void }, server: TestServer, options: BrowserContextOptions) =>
    signInToAdmin(t, browser, server, { email: 'root@example.com', password: PASSWORD }, options)

  it('manages testers, groups, devices, webhooks and users with JavaScript off', async (t) => {
    const server = await startServer(t)
    const { accounts, notifications, devices } = server.app.services
    await accounts.createUser({ email: 'root@example.com', name: 'Root', role: 'admin', password: PASSWORD })
    assert.equal((await server.upload(fixture('ipa', 'appinfo-iphone.ipa'))).status, 201)
    const { page } = await signIn(t, server, { ...DESKTOP, javaScriptEnabled: false })

    await page.goto(`${server.url}/admin/testers`)
    await page.fill('input[name=name]', 'Tess Ter')
    await page.fill('input[name=email]', 'Tess@Example.com')
    assert.equal(await submitForm(page, 'button:has-text("Add tester")'), 303)
    await page.fill('form:has(button:has-text("Create group")) input[name=name]', 'QA')
    assert.equal(await submitForm(page, 'button:has-text("Create group")'), 303)
    assert.equal(await submitForm(page, 'button:has-text("Add to group")'), 303)
    const [tester] = await notifications.store.listTesters()
    const [group] = await notifications.store.listGroups()
    assert.equal(tester?.email, 'tess@example.com')
    assert.deepEqual(group?.testerIds, [tester?.id])
    assert.match(await page.textContent('main') ?? '', /Tess Ter.*tess@example\.com.*QA/s)
    assert.equal(await submitForm(page, 'form.inline button:has-text("remove")'), 303)
    assert.deepEqual((await notifications.store.listGroups())[0]?.testerIds, [])
    assert.equal(await submitForm(page, 'tr:has-text("Tess Ter") button:has-text("Remove")'), 303)
    assert.deepEqual(await notifications.store.listTesters(), [])

    // A device (as an enrolment stores it), renamed and linked; a personal link shown once, then revoked.
    await devices.store.openEnrollment({ id: 'enrolment-1', inviteId: null, challengeHash: 'c'.repeat(64), expiresAt: new Date(Date.now() + 600_000).toISOString() })
    await devices.store.completeEnrollment('enrolment-1', { udid: '00008030-001A2B3C4D5E6F70', reportedName: 'iPhone', product: 'iPhone15,2', modelName: 'iPhone 14 Pro', family: 'iphone', osVersion: '22D63', serial: null, signatureVerified: true, chainVerified: true })
    await page.goto(`${server.url}/admin/devices`)
    assert.match(await page.textContent('main') ?? '', /00008030-001A2B3C4D5E6F70/)
    await page.click('summary:has-text("Edit")')
    await page.fill('tr input[name=name]', 'QA phone')
    await page.fill('tr input[name=tester]', 'tess@example.com')
    assert.equal(await submitForm(page, 'tr button:has-text("Save")'), 303)
    const [device] = await devices.store.listDevices()
    assert.deepEqual([device?.name, device?.tester], ['QA phone', 'tess@example.com'])
    await page.fill('form:has(button:has-text("Create link")) input[name=tester]', 'tess@example.com')
    assert.equal(await submitForm(page, 'button:has-text("Create link")'), 201)
    assert.match(await page.inputValue('[data-secret]'), /\/enroll\/ei_[A-Za-z0-9_-]{43}$/)
    await page.goto(`${server.url}/admin/devices`)
    assert.equal(await submitForm(page, 'li:has-text("tess@example.com") button:has-text("Revoke")'), 303)
    assert.deepEqual(await devices.store.listInvites(), [])

    await page.goto(`${server.url}/admin/webhooks`)
    await page.fill('input[name=bundleId]', 'com.icyleaf.AppInfoDemo')
    await page.fill('input[name=url]', 'https://hooks.example.com/airstrip')
    await page.uncheck('input[value="device.enrolled"]')
    assert.equal(await submitForm(page, 'button:has-text("Add webhook")'), 201)
    assert.match(await page.inputValue('[data-secret]'), /.{20,}/)
    const [webhook] = await notifications.store.listWebhooks()
    assert.deepEqual(webhook?.events, WEBHOOK_EVENTS.filter((e) => e !== 'device.enrolled'))
    await page.goto(`${server.url}/admin/webhooks`)
    await page.fill('input[name=url]', 'http://127.0.0.1/hook')
    await page.fill('input[name=bundleId]', 'com.icyleaf.AppInfoDemo')
    assert.equal(await submitForm(page, 'button:has-text("Add webhook")'), 422, 'the SSRF policy refuses loopback')
    assert.match(await page.textContent('main') ?? '', /webhook-url-refused/)
    await page.goto(`${server.url}/admin/webhooks`)
    assert.equal(await submitForm(page, 'tr:has-text("hooks.example.com") button:has-text("Delete")'), 303)
    assert.deepEqual(await notifications.store.listWebhooks(), [])

    await page.goto(`${server.url}/admin/settings`)
    await page.fill('form:has(button:has-text("Add user")) input[name=email]', 'viewer@example.com')
    await page.fill('form:has(button:has-text("Add user")) input[name=name]', 'Vee')
    await page.check('input[name=role][value=viewer]')
    await page.fill('form:has(button:has-text("Add user")) input[name=password]', 'viewer password 1')
    assert.equal(await submitForm(page, 'button:has-text("Add user")'), 303)
    await page.selectOption('tr[data-user="viewer@example.com"] select[name=role]', 'developer')
    assert.equal(await submitForm(page, 'tr[data-user="viewer@example.com"] button:has-text("Change")'), 303)
    assert.equal((await accounts.store.findCredentials('viewer@example.com'))?.user.role, 'developer')
    // The only admin cannot demote themself.
    await page.selectOption('tr[data-user="root@example.com"] select[name=role]', 'viewer')
    assert.equal(await submitForm(page, 'tr[data-user="root@example.com"] button:has-text("Change")'), 409)
    assert.match(await page.textContent('main') ?? '', /only admin/)
    await page.goto(`${server.url}/admin/settings`)
    await page.click('tr[data-user="viewer@example.com"] summary')
    assert.equal(await submitForm(page, 'tr[data-user="viewer@example.com"] button:has-text("Delete user")'), 303)
    assert.equal(await accounts.store.findCredentials('viewer@example.com'), null)

    await page.goto(`${server.url}/admin/account`)
    await page.fill('input[name=current]', PASSWORD)
    await page.fill('input[name=password]', 'another good password')
    await page.fill('input[name=confirm]', 'another good password')
    assert.equal(await submitForm(page, 'main button:has-text("Change password")'), 200)
    assert.match(await page.textContent('.alert') ?? '', /Password changed/)
    await page.goto(`${server.url}/admin`)
    assert.equal(new URL(page.url()).pathname, '/admin', 'this session survives its own password change')
  })

  it('fits every page on an iPhone screen, with no CSP violation or script error', async (t) => {
    const server = await startServer(t)
    const { accounts, notifications } = server.app.services
    await accounts.createUser({ email: 'root@example.com', name: 'Root With A Rather Long Name', role: 'admin', password: PASSWORD })
    const uploaded = (await server.upload(fixture('ipa', 'bitbar-BitBarSampleApp.ipa'), { notes: 'A very long line without spaces: ' + 'x'.repeat(300) })).json()
    await notifications.store.createTester({ name: 'Tess', email: 'a-very-long-address-for-testing@a-long-domain.example.com' })
    await server.app.services.meta.createApiToken('a token with a long name for a phone', { scope: 'upload', bundleId: uploaded.app.bundleId })
    const { page } = await signIn(t, server, IPHONE)
    const faults: string[] = []
    page.on('console', (m) => void (m.type() === 'error' && faults.push(m.text())))
    page.on('pageerror', (e) => void faults.push(e.message))
    for (const path of ['', `/apps/${uploaded.app.id}`, `/builds/${uploaded.id}`, '/upload', '/testers', '/devices', '/webhooks', '/tokens', '/settings', '/account']) {
      const response = await page.goto(`${server.url}/admin${path}`)
      assert.equal(response?.status(), 200, path)
      const widths = await page.evaluate<number[]>('[document.documentElement.scrollWidth, window.innerWidth]')
      assert.ok(widths[0]! <= widths[1]!, `${path || '/'} is ${widths[0]} px wide on a ${widths[1]} px screen`)
      assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'nonce-[^']+'; connect-src 'self'$/)
      assert.equal(response?.headers()['cache-control'], 'no-store')
    }
    assert.deepEqual(faults, [])
  })
})
