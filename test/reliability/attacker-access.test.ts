// The attacker's checklist (issue 9), issue-7 items: CSRF on the admin forms, session fixation,
// theft and expiry, login and password-gate brute force, access used after revocation, stored XSS
// on the admin pages. Plain HTTPS requests against the real server (no browser: the browser
// checks are in test/admin and test/access); each asserts the attack fails and nothing changed.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { LOGIN_LIMITS, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../src/accounts/account-service.ts'
import { assetsOf, manifestUrlOf, uploadTo } from '../access/access-helpers.ts'
import { api } from '../support/api.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer, type HttpResponse, type TestServer } from '../support/server.ts'
import { NOW, UA } from '../web/browser.ts'
import { attempted, recordAttempts } from './attacker/attempts.ts'

const PASSWORD = 'correct horse battery'
const SESSION = '__Host-airstrip-session'
const FORM = '__Host-airstrip-form'
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' }

after(() => recordAttempts('access'))

interface SetCookie {
  value: string
  attributes: string[]
}

/** The Set-Cookie of `name` in a response, its attributes lower-cased. */
function setCookie(response: HttpResponse, name: string): SetCookie | null {
  const headers = [response.headers['set-cookie'] ?? []].flat()
  for (const header of headers) {
    const [pair, ...attributes] = header.split(';').map((part) => part.trim())
    if (pair!.startsWith(`${name}=`)) return { value: pair!.slice(name.length + 1), attributes: attributes.map((a) => a.toLowerCase()) }
  }
  return null
}

/** Signs in through the login form as a client without a browser: GET the form (double-submit cookie), POST it. */
async function signIn(server: TestServer, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<{ response: HttpResponse; session: string | null }> {
  const form = await server.request(`${server.url}/admin/login`)
  const formCookie = setCookie(form, FORM)!.value
  const formToken = /name="_form" value="([^"]+)"/.exec(form.text())![1]!
  const cookie = [`${FORM}=${formCookie}`, headers['cookie']].filter(Boolean).join('; ')
  const response = await server.request(`${server.url}/admin/login`, {
    method: 'POST',
    headers: { ...FORM_TYPE, ...headers, cookie },
    body: new URLSearchParams({ _form: formToken, email, password, next: '' }).toString(),
  })
  return { response, session: setCookie(response, SESSION)?.value || null }
}

/** An admin page (GET) with a session cookie; `csrf` is the token its forms carry. */
async function adminPage(server: TestServer, session: string, path: string): Promise<{ response: HttpResponse; csrf: string | null }> {
  const response = await server.request(`${server.url}${path}`, { headers: { cookie: `${SESSION}=${session}` } })
  return { response, csrf: /name="_csrf" value="([^"]+)"/.exec(response.text())?.[1] ?? null }
}

function adminPost(server: TestServer, session: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return server.request(`${server.url}${path}`, { method: 'POST', headers: { ...FORM_TYPE, cookie: `${SESSION}=${session}`, ...headers }, body: new URLSearchParams(fields).toString() })
}

/** An app with a build on an invite-only `beta` channel, a tester and a personal link for them. */
async function inviteOnlyApp(server: TestServer) {
  const call = api(server)
  const build = await uploadTo(server, fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), 'beta')
  assert.equal((await call('PATCH', `/api/v1/apps/${build.app.bundleId}/channels/beta`, { access: 'invite' })).status, 200)
  const invite = async (name: string, email: string) => {
    const tester = (await call('POST', '/api/v1/testers', { name, email })).body as { id: string }
    const created = await call('POST', `/api/v1/apps/${build.app.bundleId}/invites`, { tester: email, channel: 'beta' })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    return { tester, grant: created.body as { id: string; url: string } }
  }
  return { call, build, invite }
}

/** Everything a personal link hands out: the page, the build's page under it, the manifest, the .ipa, the icons. */
async function linksOf(server: TestServer, pageUrl: string, buildId: string): Promise<string[]> {
  const page = await server.request(pageUrl, { headers: { 'user-agent': UA.iphone } })
  assert.equal(page.status, 200)
  const manifestUrl = manifestUrlOf(/id="install"[^>]*href="([^"]+)"/.exec(page.text())![1]!.replaceAll('&amp;', '&'))
  const manifest = await server.request(manifestUrl)
  assert.equal(manifest.status, 200)
  const { ipa, icon } = assetsOf(manifest)
  const urls = [pageUrl, `${pageUrl}/${buildId}`, manifestUrl, ipa, ...(icon ? [icon] : [])]
  for (const url of urls) assert.equal((await server.request(url, { method: 'HEAD', headers: { 'user-agent': UA.iphone } })).status, 200, `before revocation: ${url}`)
  return urls
}

/** Every URL refused at once: GET, HEAD and a Range request; never a byte of the build. */
async function assertAllRefused(server: TestServer, urls: string[], size: number): Promise<void> {
  for (const url of urls) {
    for (const options of [{}, { method: 'HEAD' }, { headers: { range: 'bytes=0-99' } }]) {
      const reply = await server.request(url, { ...options, headers: { 'user-agent': UA.iphone, ...('headers' in options ? options.headers : {}) } })
      attempted('access-revocation')
      assert.ok(reply.status === 410 || reply.status === 403, `${url} ${JSON.stringify(options)}: ${reply.status}`)
      assert.ok(reply.body.length < size / 2, 'no build bytes')
      assert.doesNotMatch(reply.text(), /itms-services|\/m\/|\/d\//, `${url}: no fresh link handed out`)
    }
  }
}

test('[csrf] forged admin POSTs: no token, a wrong one, another session’s → 403, nothing changed', async (t) => {
  const server = await startServer(t)
  const { accounts, meta, notifications, access } = server.app.services
  await accounts.createUser({ email: 'root@example.com', name: 'Root', role: 'admin', password: PASSWORD })
  await accounts.createUser({ email: 'other@example.com', name: 'Other', role: 'admin', password: PASSWORD })
  const { build, invite } = await inviteOnlyApp(server)
  const { grant } = await invite('Jane', 'jane@example.com')
  const victim = (await signIn(server, 'root@example.com')).session!
  const attacker = (await signIn(server, 'other@example.com')).session!
  const attackerCsrf = (await adminPage(server, attacker, '/admin')).csrf!
  const victimCsrf = (await adminPage(server, victim, '/admin')).csrf!
  assert.ok(victimCsrf && attackerCsrf && victimCsrf !== attackerCsrf, 'a token per session')

  const snapshot = async () => JSON.stringify({
    tokens: (await meta.listApiTokens()).map((x) => x.name),
    testers: (await notifications.store.listTesters()).map((x) => x.email),
    users: (await accounts.store.listUsers()).map((x) => [x.email, x.role]),
    access: await access.channels.getAppAccess(build.app.bundleId),
    build: (await meta.getBuild(build.id))?.id,
    grant: (await access.grants.getGrant(grant.id))?.revokedAt ?? null,
    session: Boolean(await accounts.resume(victim)),
  })
  const before = await snapshot()
  const forms: Array<[string, Record<string, string>]> = [
    ['/admin/tokens', { name: 'forged', scope: 'full' }],
    ['/admin/testers', { name: 'Forged', email: 'forged@example.com' }],
    ['/admin/users', { email: 'evil@example.com', name: 'Evil', role: 'admin', password: 'evil evil evil evil' }],
    [`/admin/apps/${build.app.id}/access`, { mode: 'public' }],
    [`/admin/apps/${build.app.id}/invites/${grant.id}/revoke`, {}],
    [`/admin/builds/${build.id}/delete`, { confirm: 'on' }],
    ['/admin/account/password', { current: PASSWORD, password: 'attacker chosen pw', confirm: 'attacker chosen pw' }],
    ['/admin/logout', {}],
  ]
  const forgeries: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['no token', {}, {}],
    ['empty token', { _csrf: '' }, {}],
    ['random token', { _csrf: randomBytes(32).toString('base64url') }, {}],
    ['the token with a flipped character', { _csrf: victimCsrf.slice(0, -1) + (victimCsrf.endsWith('A') ? 'B' : 'A') }, {}],
    ['another session’s token', { _csrf: attackerCsrf }, {}],
    ['another session’s token in the header', {}, { 'x-csrf-token': attackerCsrf }],
    ['the session id itself', { _csrf: victim }, {}],
    ['two tokens (theirs first)', {}, {}],
  ]
  for (const [path, fields] of forms) {
    for (const [what, extra, headers] of forgeries) {
      const body = what.startsWith('two tokens') ? `${new URLSearchParams(fields)}&_csrf=${attackerCsrf}&_csrf=${victimCsrf}` : null
      const reply = body === null
        ? await adminPost(server, victim, path, { ...fields, ...extra }, headers)
        : await server.request(`${server.url}${path}`, { method: 'POST', headers: { ...FORM_TYPE, cookie: `${SESSION}=${victim}` }, body })
      attempted('csrf')
      assert.equal(reply.status, 403, `${path} with ${what}: ${reply.status}`)
      assert.match(reply.text(), /csrf-invalid|CSRF/)
    }
  }
  // A form post as JSON or multipart does not slip past the check either.
  for (const [type, body] of [['application/json', JSON.stringify({ name: 'forged', scope: 'full' })], ['text/plain', 'name=forged&scope=full']] as const) {
    const reply = await server.request(`${server.url}/admin/tokens`, { method: 'POST', headers: { 'content-type': type, cookie: `${SESSION}=${victim}` }, body })
    attempted('csrf')
    assert.ok(reply.status === 403 || reply.status === 415, `${type}: ${reply.status}`)
  }
  // State changes are POST only: the same paths as GET change nothing.
  for (const path of [`/admin/builds/${build.id}/delete?confirm=on&_csrf=${victimCsrf}`, `/admin/apps/${build.app.id}/invites/${grant.id}/revoke`, '/admin/logout']) {
    const reply = await server.request(`${server.url}${path}`, { headers: { cookie: `${SESSION}=${victim}` } })
    attempted('csrf')
    assert.equal(reply.status, 404, `GET ${path}: ${reply.status}`)
  }
  // The sign-in form's double-submit token: a cross-site login (no form cookie, or a cookie and field that differ) is refused.
  const form = await server.request(`${server.url}/admin/login`)
  const formCookie = setCookie(form, FORM)!.value
  for (const [cookie, field] of [[null, formCookie], [formCookie, null], [formCookie, randomBytes(32).toString('base64url')], [randomBytes(32).toString('base64url'), formCookie]] as const) {
    const reply = await server.request(`${server.url}/admin/login`, {
      method: 'POST',
      headers: { ...FORM_TYPE, ...(cookie ? { cookie: `${FORM}=${cookie}` } : {}) },
      body: new URLSearchParams({ ...(field ? { _form: field } : {}), email: 'root@example.com', password: PASSWORD }).toString(),
    })
    attempted('csrf')
    assert.equal(reply.status, 403)
    assert.equal(setCookie(reply, SESSION), null, 'no session from a forged login')
  }
  assert.equal(await snapshot(), before, 'nothing changed')
  // The page's own token does work (the routes above were live): a real token is created.
  const real = await adminPost(server, victim, '/admin/tokens', { name: 'real', scope: 'upload', _csrf: victimCsrf })
  assert.equal(real.status, 201)
})

test('[sessions] cookie flags, no fixation, a new id at every sign-in, dead after sign-out, idle and absolute expiry', async (t) => {
  const server = await startServer(t)
  const { accounts } = server.app.services
  await accounts.createUser({ email: 'root@example.com', name: 'Root Victim', role: 'admin', password: PASSWORD })
  await accounts.createUser({ email: 'mallory@example.com', name: 'Mallory', role: 'viewer', password: PASSWORD })

  // Both cookies: __Host- (no Domain, Path=/, Secure), HttpOnly, SameSite; the session id is never in a URL.
  const form = setCookie(await server.request(`${server.url}/admin/login`), FORM)!
  const signedIn = await signIn(server, 'root@example.com')
  assert.equal(signedIn.response.status, 303)
  assert.equal(signedIn.response.headers.location, '/admin')
  const session = setCookie(signedIn.response, SESSION)!
  for (const [what, cookie, sameSite] of [['session', session, 'samesite=lax'], ['form', form, 'samesite=strict']] as const) {
    attempted('sessions')
    assert.ok(cookie.attributes.includes('httponly'), `${what}: HttpOnly`)
    assert.ok(cookie.attributes.includes('secure'), `${what}: Secure`)
    assert.ok(cookie.attributes.includes(sameSite), `${what}: ${sameSite}`)
    assert.ok(cookie.attributes.includes('path=/'), `${what}: Path=/`)
    assert.ok(!cookie.attributes.some((a) => a.startsWith('domain=')), `${what}: host-only`)
    assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/, `${what}: 256 random bits`)
  }
  assert.ok(!String(signedIn.response.headers.location).includes(session.value))
  // Theft from a copy of the database: only a hash of the id is stored.
  const stored = readdirSync(server.dataDir).filter((name) => name.startsWith('airstrip.db')).map((name) => readFileSync(join(server.dataDir, name)).toString('latin1')).join('')
  attempted('sessions')
  assert.ok(!stored.includes(session.value), 'the session id is not in the database in clear')

  // Fixation: a planted, made-up id is ignored and replaced; a planted real session (the attacker's own) is not upgraded.
  const planted = randomBytes(32).toString('base64url')
  const withPlanted = await signIn(server, 'root@example.com', PASSWORD, { cookie: `${SESSION}=${planted}` })
  attempted('sessions')
  assert.ok(withPlanted.session && withPlanted.session !== planted, 'a new id, not the planted one')
  assert.equal((await adminPage(server, planted, '/admin')).response.status, 303, 'the planted id signs nobody in')
  const mallory = (await signIn(server, 'mallory@example.com')).session!
  const overMallory = await signIn(server, 'root@example.com', PASSWORD, { cookie: `${SESSION}=${mallory}` })
  attempted('sessions')
  assert.ok(overMallory.session && overMallory.session !== mallory)
  const malloryPage = (await adminPage(server, mallory, '/admin')).response.text()
  assert.match(malloryPage, /Mallory/)
  assert.doesNotMatch(malloryPage, /Root Victim/, "the attacker's planted session did not become the victim's")
  // Every sign-in makes a new id.
  const again = await signIn(server, 'root@example.com')
  attempted('sessions')
  assert.ok(again.session && ![session.value, withPlanted.session, overMallory.session].includes(again.session))

  // Sign-out: the cookie is cleared and the old id is dead, for pages and for forms (with its own CSRF token).
  const { csrf } = await adminPage(server, session.value, '/admin')
  const out = await adminPost(server, session.value, '/admin/logout', { _csrf: csrf! })
  assert.equal(out.status, 303)
  const cleared = setCookie(out, SESSION)
  assert.ok(cleared && cleared.value === '' && cleared.attributes.some((a) => a === 'max-age=0' || a.startsWith('expires=thu, 01 jan 1970')), JSON.stringify(cleared))
  const replayedPage = await adminPage(server, session.value, '/admin')
  const replayedForm = await adminPost(server, session.value, '/admin/tokens', { name: 'after-logout', scope: 'full', _csrf: csrf! })
  attempted('sessions', 2)
  assert.equal(replayedPage.response.status, 303)
  assert.match(String(replayedPage.response.headers.location), /^\/admin\/login/)
  assert.equal(replayedForm.status, 401)
  assert.ok(!(await server.app.services.meta.listApiTokens()).some((x) => x.name === 'after-logout'))
  assert.equal((await adminPage(server, again.session, '/admin')).response.status, 200, 'other sessions of the user live on')

  // A deleted user's sessions end at once.
  const mallorysUser = (await accounts.store.listUsers()).find((u) => u.email === 'mallory@example.com')!
  const adminCsrf = (await adminPage(server, again.session, '/admin')).csrf!
  assert.equal((await adminPost(server, again.session, `/admin/users/${mallorysUser.id}/delete`, { _csrf: adminCsrf })).status, 303)
  attempted('sessions')
  assert.equal((await adminPage(server, mallory, '/admin')).response.status, 303, 'a deleted user is signed out')

  // Expiry against the server's clock: idle for longer than the idle limit, or older than the absolute limit, however busy.
  const start = Date.now()
  const idle = (await signIn(server, 'root@example.com')).session!
  server.setNow(new Date(start + SESSION_IDLE_MS + 60_000))
  attempted('sessions')
  assert.equal((await adminPage(server, idle, '/admin')).response.status, 303, 'idle session ended')
  server.setNow(new Date(start))
  const busy = (await signIn(server, 'root@example.com')).session!
  const step = SESSION_IDLE_MS - 60 * 60_000
  let at = start
  while (at + step < start + SESSION_MAX_MS) {
    at += step
    server.setNow(new Date(at))
    assert.equal((await adminPage(server, busy, '/admin')).response.status, 200, `busy session alive at +${(at - start) / 3600_000} h`)
  }
  server.setNow(new Date(start + SESSION_MAX_MS + 60_000))
  attempted('sessions')
  assert.equal((await adminPage(server, busy, '/admin')).response.status, 303, 'absolute lifetime ended')
  server.setNow(new Date())
})

test('[brute-force] login: 429 after the limit per account and per address, even with the right password', async (t) => {
  const server = await startServer(t)
  const { accounts } = server.app.services
  for (const who of ['alice', 'bob', 'carol']) await accounts.createUser({ email: `${who}@example.com`, name: who, role: 'viewer', password: PASSWORD })
  for (let i = 0; i < LOGIN_LIMITS.perAccount; i++) {
    const wrong = await signIn(server, 'alice@example.com', `guess number ${i}`)
    attempted('brute-force')
    assert.equal(wrong.response.status, 401)
  }
  const locked = await signIn(server, 'alice@example.com')
  attempted('brute-force')
  assert.equal(locked.response.status, 429, 'the right password waits too')
  assert.equal(locked.session, null)
  assert.match(locked.response.text(), /too many failed sign-ins/)
  // Case and spacing of the address do not reset the counter.
  assert.equal((await signIn(server, ' ALICE@Example.com ')).response.status, 429)
  // Per account: another account from the same address still signs in…
  assert.equal((await signIn(server, 'bob@example.com')).response.status, 303)
  // …until the address has failed too often, spread over many accounts (none reaching its own limit).
  for (let i = LOGIN_LIMITS.perAccount; i < LOGIN_LIMITS.perAddress; i++) {
    const wrong = await signIn(server, `user${i % 7}@example.com`, `spray ${i}`)
    attempted('brute-force')
    assert.equal(wrong.response.status, 401)
  }
  for (const headers of [{}, { 'x-forwarded-for': '203.0.113.9' }, { 'x-real-ip': '203.0.113.10' }] as Array<Record<string, string>>) {
    const sprayed = await signIn(server, 'carol@example.com', PASSWORD, headers)
    attempted('brute-force')
    assert.equal(sprayed.response.status, 429, `per address (${JSON.stringify(headers)}): a forwarded-for header from a client is not trusted`)
    assert.equal(sprayed.session, null)
  }
  // The window passes: the right password works again.
  server.setNow(new Date(Date.now() + LOGIN_LIMITS.windowMs + 60_000))
  assert.equal((await signIn(server, 'carol@example.com')).response.status, 303)
})

test('[brute-force] password gate: 429 with Retry-After after a few wrong passwords, on every form of the app', async (t) => {
  const server = await startServer(t)
  const call = api(server)
  const build = await uploadTo(server, fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), 'main')
  assert.equal((await call('PUT', `/api/v1/apps/${build.app.id}/access`, { access: 'password', password: 'open sesame' })).status, 200)
  const post = (path: string, password: string, headers: Record<string, string> = {}) =>
    server.request(`${server.url}${path}`, { method: 'POST', headers: { ...FORM_TYPE, 'user-agent': UA.iphone, ...headers }, body: new URLSearchParams({ password, scope: '' }).toString() })
  const statuses: number[] = []
  for (let i = 0; i < 20 && statuses.at(-1) !== 429; i++) {
    const reply = await post(`/i/${build.id}`, `guess ${i}`)
    attempted('brute-force')
    statuses.push(reply.status)
    assert.equal(reply.headers['set-cookie'], undefined)
  }
  assert.equal(statuses.at(-1), 429, `throttled: ${statuses.join(' ')}`)
  assert.ok(statuses.slice(0, -1).every((s) => s === 403))
  for (const [path, headers] of [[`/i/${build.id}`, {}], [`/apps/${build.app.id}`, {}], [`/i/${build.id}`, { 'x-forwarded-for': '203.0.113.9' }]] as const) {
    const right = await post(path, 'open sesame', headers)
    attempted('brute-force')
    assert.equal(right.status, 429, `${path} ${JSON.stringify(headers)}: even the right password waits`)
    assert.ok(Number(right.headers['retry-after']) > 0, 'Retry-After')
    assert.equal(right.headers['set-cookie'], undefined)
    assert.doesNotMatch(right.text(), /itms-services|\/m\/|\/d\//)
  }
})

test('[access-revocation] a revoked personal link, or a removed tester: page, manifest, .ipa and icon refused at once', async (t) => {
  const server = await startServer(t)
  // The fixture's profile expires on 2026-12-26: a fixed clock keeps its Install button (and links) there.
  server.setNow(NOW)
  const { accounts } = server.app.services
  await accounts.createUser({ email: 'root@example.com', name: 'Root', role: 'admin', password: PASSWORD })
  const { build, invite } = await inviteOnlyApp(server)
  const jane = await invite('Jane', 'jane@example.com')
  const joe = await invite('Joe', 'joe@example.com')
  const janes = await linksOf(server, jane.grant.url, build.id)
  const joes = await linksOf(server, joe.grant.url, build.id)
  const admin = (await signIn(server, 'root@example.com')).session!
  const { csrf } = await adminPage(server, admin, `/admin/apps/${build.app.id}`)

  // Revoked through the admin UI: every URL Jane's link handed out stops at once; Joe's keep working.
  assert.equal((await adminPost(server, admin, `/admin/apps/${build.app.id}/invites/${jane.grant.id}/revoke`, { _csrf: csrf! })).status, 303)
  await assertAllRefused(server, janes, build.size)
  for (const url of joes) assert.equal((await server.request(url, { method: 'HEAD', headers: { 'user-agent': UA.iphone } })).status, 200, url)
  // Revoking again, or Jane's grant under another app's path, is refused: nothing comes back to life.
  assert.equal((await adminPost(server, admin, `/admin/apps/${build.app.id}/invites/${jane.grant.id}/revoke`, { _csrf: csrf! })).status, 404)

  // The tester removed: Joe's links stop too.
  assert.equal((await adminPost(server, admin, `/admin/testers/${joe.tester.id}/delete`, { _csrf: csrf! })).status, 303)
  await assertAllRefused(server, joes, build.size)
})

test('[stored-xss] admin pages: app name, release notes and tester name are escaped; CSP allows no inline script', async (t) => {
  const server = await startServer(t)
  const { accounts } = server.app.services
  await accounts.createUser({ email: 'root@example.com', name: 'Root', role: 'admin', password: PASSWORD })
  const payload = `X<script>alert(1)</script>"><img src=x onerror=alert(2)>' autofocus onfocus='alert(3)`
  const work = tempDir(t, 'airstrip-attacker-xss-')
  const path = join(work, 'xss.ipa')
  await buildIpa(path, { info: { CFBundleIdentifier: 'com.example.xss', CFBundleDisplayName: payload, CFBundleName: payload } })
  const build = (await server.upload(path, { notes: `**Notes** ${payload} [x](javascript:alert(4)) <a href="javascript:alert(5)">y</a>` })).json<{ id: string; app: { id: string; bundleId: string } }>()
  assert.ok(build.id)
  const call = api(server)
  const tester = await call('POST', '/api/v1/testers', { name: payload, email: 'xss@example.com' })
  assert.equal(tester.status, 201, JSON.stringify(tester.body))
  assert.equal((await call('PATCH', `/api/v1/apps/${build.app.bundleId}/channels/main`, { access: 'invite' })).status, 200)
  assert.equal((await call('POST', `/api/v1/apps/${build.app.bundleId}/invites`, { tester: 'xss@example.com', channel: 'main' })).status, 201)
  const admin = (await signIn(server, 'root@example.com')).session!

  const pages = ['/admin', `/admin/apps/${build.app.id}`, `/admin/builds/${build.id}`, `/admin/apps/${build.app.id}/channels/main`, '/admin/testers']
  for (const page of pages) {
    const { response } = await adminPage(server, admin, page)
    attempted('stored-xss')
    assert.equal(response.status, 200, page)
    const html = response.text()
    assert.ok(html.includes('X&lt;script&gt;alert(1)&lt;/script&gt;'), `${page}: the payload is shown, escaped`)
    const csp = String(response.headers['content-security-policy'])
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1]
    assert.ok(nonce, `${page}: CSP with a script nonce: ${csp}`)
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, `${page}: CSP ${csp}`)
    assert.match(csp, /default-src 'none'/)
    // Every tag is markup Airstrip wrote: no script without the nonce, no event handler, no javascript: URL.
    for (const tag of html.match(/<[a-zA-Z][^>]*>/g) ?? []) {
      if (/^<script\b/i.test(tag)) assert.ok(tag.includes(`nonce="${nonce}"`), `${page}: script without the nonce: ${tag}`)
      for (const [, name, value] of tag.matchAll(/\s([^\s"'=<>/]+)(?:=("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
        assert.ok(!/^on/i.test(name!), `${page}: event handler in ${tag}`)
        assert.ok(!/^["']?\s*javascript:/i.test(value ?? ''), `${page}: javascript: URL in ${tag}`)
      }
      assert.doesNotMatch(tag, /^<img src=x/i, `${page}: injected tag ${tag}`)
    }
  }
})
