// The admin UI's sign-in in real Chromium (laptop and iPhone viewports) against the real server:
// first-run setup, sign-out and sign-in, CSRF refusals, login rate limiting, roles.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContext } from 'playwright-core'
import { csrfTokenFor, hashSessionId } from '../../src/accounts/secrets.ts'
import { LOGIN_LIMITS } from '../../src/accounts/account-service.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { DESKTOP, IPHONE, launchBrowser, NO_CHROMIUM } from '../web/browser.ts'

const PASSWORD = 'correct horse battery'

describe('admin sign-in', { skip: NO_CHROMIUM }, () => {
  let browser: Browser
  before(async () => void (browser = await launchBrowser()))
  after(() => browser?.close())

  const open = async (t: { after(fn: () => unknown): void }, options = DESKTOP): Promise<BrowserContext> => {
    const context = await browser.newContext({ ...options, ignoreHTTPSErrors: true })
    t.after(() => context.close())
    return context
  }
  const signIn = async (context: BrowserContext, server: TestServer, email: string, password = PASSWORD) => {
    const page = await context.newPage()
    await page.goto(`${server.url}/admin/login`)
    await page.fill('input[name=email]', email)
    await page.fill('input[name=password]', password)
    // The next page's load (waitForLoadState would see the login page itself, already loaded).
    await Promise.all([page.waitForEvent('load'), page.click('button[type=submit]')])
    return page
  }

  it('first-run setup creates the admin once, then sign-out and sign-in work (laptop)', async (t) => {
    const server = await startServer(t)
    const token = await server.app.services.accounts.pendingSetupToken()
    assert.ok(token)
    const context = await open(t)
    const page = await context.newPage()
    const errors: string[] = []
    // Refusals (401, 403) are logged as failed loads; anything else (a CSP violation, a script error) is a fault.
    page.on('console', (m) => void (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[13]/.test(m.text()) && errors.push(m.text())))
    page.on('pageerror', (e) => void errors.push(e.message))
    await page.goto(`${server.url}/admin`)
    assert.equal(new URL(page.url()).pathname, '/admin/setup', 'no admin yet: the setup page')
    // A wrong token is refused, the form comes back with the reason.
    await page.fill('input[name=token]', 'A'.repeat(43))
    await page.fill('input[name=email]', 'root@example.com')
    await page.fill('input[name=password]', PASSWORD)
    const refused = page.waitForResponse((r) => r.request().method() === 'POST')
    const refusedShown = page.waitForEvent('load')
    await page.click('button[type=submit]')
    assert.equal((await refused).status(), 403)
    await refusedShown
    assert.match(await page.textContent('.alert') ?? '', /setup token is wrong/)

    await page.fill('input[name=token]', token)
    await page.fill('input[name=name]', 'Root User')
    await page.fill('input[name=password]', PASSWORD)
    await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')])
    assert.equal(await page.textContent('h1'), 'Apps')
    assert.match(await page.textContent('.who') ?? '', /Root User\s*admin/)
    assert.equal(await server.app.services.accounts.pendingSetupToken(), null)

    const [session] = (await context.cookies()).filter((c) => c.name === '__Host-airstrip-session')
    assert.ok(session, 'a __Host- session cookie')
    assert.deepEqual([session.httpOnly, session.secure, session.sameSite, session.path], [true, true, 'Lax', '/'])
    const rows = await server.app.services.accounts.store.findSession(hashSessionId(session.value))
    assert.equal(rows?.user.email, 'root@example.com', 'the server keeps the hash of the id')

    // Setup is closed now, whatever the token.
    const closed = await server.request(`${server.url}/admin/setup?token=${token}`)
    assert.equal(closed.status, 303)

    await Promise.all([page.waitForURL(/\/admin\/login$/), page.click('.who button')])
    const replay = await server.request(`${server.url}/admin`, { headers: { cookie: `__Host-airstrip-session=${session.value}` } })
    assert.equal(replay.status, 303, 'the old session id no longer works after sign-out')

    await page.fill('input[name=email]', 'root@example.com')
    await page.fill('input[name=password]', 'not the password')
    const wrong = page.waitForResponse((r) => r.request().method() === 'POST')
    const wrongShown = page.waitForEvent('load')
    await page.click('button[type=submit]')
    assert.equal((await wrong).status(), 401)
    await wrongShown
    assert.match(await page.textContent('.alert') ?? '', /wrong e-mail address or password/)
    await page.fill('input[name=password]', PASSWORD)
    await Promise.all([page.waitForURL(`${server.url}/admin`), page.click('button[type=submit]')])
    assert.deepEqual(errors, [], 'no console errors (CSP violations would show here)')
  })

  it('rate limits sign-in: after too many failures even the right password is refused (iPhone)', async (t) => {
    const server = await startServer(t)
    await server.app.services.accounts.createUser({ email: 'dev@example.com', name: 'Dev', role: 'developer', password: PASSWORD })
    const context = await open(t, IPHONE)
    const page = await context.newPage()
    await page.goto(`${server.url}/admin/login`)
    const statuses: number[] = []
    for (let i = 0; i <= LOGIN_LIMITS.perAccount; i++) {
      await page.fill('input[name=email]', 'dev@example.com')
      await page.fill('input[name=password]', i === LOGIN_LIMITS.perAccount ? PASSWORD : `wrong password ${i}`)
      const answer = page.waitForResponse((r) => r.request().method() === 'POST')
      // The answer's page, not the previous one (whose alert names the previous refusal).
      const shown = page.waitForEvent('load')
      await page.click('button[type=submit]')
      statuses.push((await answer).status())
      await shown
    }
    assert.deepEqual(statuses, [...Array(LOGIN_LIMITS.perAccount).fill(401), 429])
    assert.match(await page.textContent('.alert') ?? '', /too many failed sign-ins/)
    assert.equal(new URL(page.url()).pathname, '/admin/login')
    // Another account from the same phone is not locked by this one's counter.
    await server.app.services.accounts.createUser({ email: 'other@example.com', name: 'Other', role: 'viewer', password: PASSWORD })
    const other = await signIn(await open(t, IPHONE), server, 'other@example.com')
    assert.equal(new URL(other.url()).pathname, '/admin')
  })

  it('refuses forged POSTs: no CSRF token, a wrong one, another session’s → 403, nothing changed', async (t) => {
    const server = await startServer(t)
    const { accounts } = server.app.services
    await accounts.createUser({ email: 'root@example.com', name: 'Root', role: 'admin', password: PASSWORD })
    const mine = await accounts.login({ email: 'root@example.com', password: PASSWORD, clientAddress: '127.0.0.1' })
    const theirs = await accounts.login({ email: 'root@example.com', password: PASSWORD, clientAddress: '127.0.0.1' })
    const post = (path: string, body: string) =>
      server.request(`${server.url}${path}`, { method: 'POST', headers: { cookie: `__Host-airstrip-session=${mine.id}`, 'content-type': 'application/x-www-form-urlencoded' }, body })
    for (const csrf of [null, '', 'A'.repeat(43), csrfTokenFor(theirs.id)]) {
      const body = `name=forged${csrf === null ? '' : `&_csrf=${encodeURIComponent(csrf)}`}&scope=full`
      const response = await post('/admin/tokens', body)
      assert.equal(response.status, 403, `csrf ${csrf}`)
      assert.match(response.text(), /csrf-invalid/)
      assert.match(String(response.headers['content-type']), /text\/html/)
    }
    assert.deepEqual(await server.app.services.meta.listApiTokens().then((list) => list.map((tkn) => tkn.name)), ['tests'])
    const forgedLogout = await post('/admin/logout', '')
    assert.equal(forgedLogout.status, 403)
    assert.ok(await accounts.resume(mine.id), 'a forged sign-out does not end the session')
    // The real token works.
    const real = await post('/admin/tokens', `name=real&scope=upload&_csrf=${encodeURIComponent(csrfTokenFor(mine.id))}`)
    assert.equal(real.status, 201)
    // The sign-in form has its own double-submit token: a cross-site login POST is refused too.
    const loginForged = await server.request(`${server.url}/admin/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `email=root%40example.com&password=${encodeURIComponent(PASSWORD)}` })
    assert.equal(loginForged.status, 403)
  })

  it('enforces roles: a viewer sees no delete and a forged delete is refused; a developer deletes (iPhone)', async (t) => {
    const server = await startServer(t)
    const { accounts } = server.app.services
    await accounts.createUser({ email: 'viewer@example.com', name: 'Viewer', role: 'viewer', password: PASSWORD })
    await accounts.createUser({ email: 'dev@example.com', name: 'Developer', role: 'developer', password: PASSWORD })
    const uploaded = await server.upload(fixture('ipa', 'appinfo-iphone.ipa'), { notes: '**Fixed** the <script>alert(1)</script> [bug](javascript:alert(1))' })
    const buildId = uploaded.json().id as string

    const viewer = await open(t, IPHONE)
    const page = await signIn(viewer, server, 'viewer@example.com')
    await page.goto(`${server.url}/admin/builds/${buildId}`)
    assert.equal(await page.locator('text=Delete build').count(), 0, 'no delete button for a viewer')
    assert.equal(await page.locator('a:has-text("Upload")').count(), 0)
    // Markdown rendered, HTML and javascript: links not.
    assert.equal(await page.locator('.notes-md strong').textContent(), 'Fixed')
    assert.equal(await page.locator('.notes-md script').count(), 0)
    assert.match(await page.locator('.notes-md').textContent() ?? '', /<script>alert\(1\)<\/script>/)
    assert.equal(await page.locator('.notes-md a').count(), 0, 'a javascript: link is not a link')
    const csrf = await page.locator('input[name=_csrf]').first().inputValue()
    const forged = await viewer.request.post(`${server.url}/admin/builds/${buildId}/delete`, { form: { _csrf: csrf, confirm: 'on' }, maxRedirects: 0 })
    assert.equal(forged.status(), 403)
    assert.match(await forged.text(), /your role \(viewer\) cannot do this/)
    assert.ok(await server.app.services.meta.getBuild(buildId), 'still there')
    const usersForged = await viewer.request.post(`${server.url}/admin/users`, { form: { _csrf: csrf, email: 'x@example.com', role: 'admin', password: PASSWORD }, maxRedirects: 0 })
    assert.equal(usersForged.status(), 403)

    const developer = await open(t, IPHONE)
    const devPage = await signIn(developer, server, 'dev@example.com')
    const devCsrf = await devPage.locator('input[name=_csrf]').first().inputValue()
    const notAdmin = await developer.request.post(`${server.url}/admin/users`, { form: { _csrf: devCsrf, email: 'x@example.com', role: 'admin', password: PASSWORD }, maxRedirects: 0 })
    assert.equal(notAdmin.status(), 403, 'developers do not manage users')
    await devPage.goto(`${server.url}/admin/builds/${buildId}`)
    await devPage.check('input[name=confirm]')
    await Promise.all([devPage.waitForURL(`${server.url}/admin`), devPage.click('text=Delete build')])
    assert.equal(await server.app.services.meta.getBuild(buildId), null)
  })
})
