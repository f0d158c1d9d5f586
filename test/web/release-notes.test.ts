// Release notes as markdown on tester pages (real Chromium), and edited after upload through the
// admin form (session + CSRF, roles) and PATCH /api/v1/builds/:id (token scopes) — hostile input
// refused with its code and the old notes left in place.
import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { csrfTokenFor } from '../../src/accounts/secrets.ts'
import { buildReleaseEmail } from '../../src/notify/release-email.ts'
import { signInToAdmin, submitForm } from '../support/admin-session.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type HttpResponse, type TestServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { DESKTOP, IPHONE, NO_CHROMIUM, NOW, UA, launchBrowser, visit } from './browser.ts'

const IPA = fixture('ipa', 'bitbar-sample-latest-iOS.ipa') // com.bitbar.BitBarSample
const OTHER_IPA = fixture('ipa', 'appinfo-iphone.ipa') // com.icyleaf.AppInfoDemo
const PASSWORD = 'correct horse battery'
const MARKDOWN = [
  '# Fixes',
  '- Login works **again**',
  '- See [the changelog](https://example.com/changelog)',
  '',
  '<script>alert(1)</script>',
  '[tap me](javascript:alert(2)) and <javascript:alert(3)>',
  '',
  '| area | state |',
  '|:-----|------:|',
  '| sync | fixed |',
].join('\n')

const suite = suiteScope()
let server: TestServer
let browser: Browser | undefined

before(async () => {
  server = await startServer(suite)
  server.setNow(NOW)
  if (!NO_CHROMIUM) browser = await launchBrowser()
  suite.after(() => browser?.close())
})

async function uploadBuild(path = IPA, notes = 'Original notes'): Promise<{ id: string; installPageUrl: string; app: { id: string } }> {
  const response = await server.upload(path, { notes })
  assert.equal(response.status, 201, response.text())
  return response.json()
}

const storedNotes = async (id: string) => (await server.app.services.meta.getBuild(id))?.notes

function patchNotes(id: string, body: unknown, token = server.apiToken): Promise<HttpResponse> {
  return server.request(`${server.url}/api/v1/builds/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

test('the install and app pages render the notes as markdown: list, safe link, <script> as text, no javascript: link', { skip: NO_CHROMIUM, timeout: 60_000 }, async () => {
  const build = await uploadBuild(IPA, MARKDOWN)
  for (const [url, visitor] of [[build.installPageUrl, IPHONE], [`${server.url}/apps/${build.app.id}`, DESKTOP]] as const) {
    const v = await visit(browser!, url, visitor)
    try {
      const notes = v.page.locator('#notes')
      assert.equal(await notes.locator('h3').textContent(), 'Fixes', '"#" becomes an h3, under the page\'s h1 and h2')
      assert.deepEqual(await notes.locator('ul > li').allInnerTexts(), ['Login works again', 'See the changelog'])
      assert.equal(await notes.locator('strong').textContent(), 'again')
      const links = await notes.locator('a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target'), text: a.textContent })))
      assert.deepEqual(links, [{ href: 'https://example.com/changelog', rel: 'noopener noreferrer nofollow', target: '_blank', text: 'the changelog' }], 'the one http(s) link; javascript: ones are not links')
      const text = await notes.innerText()
      assert.ok(text.includes('<script>alert(1)</script>'), 'the tag is shown as text')
      assert.ok(text.includes('[tap me](javascript:alert(2)) and <javascript:alert(3)>'), 'javascript: links stay text')
      assert.equal(await notes.locator('table td').count(), 2)
      assert.equal(await v.page.locator('main script:not([nonce]), [style], a[href^="javascript:" i]').count(), 0, 'no injected script, inline style or javascript: link')
      await v.page.waitForTimeout(100)
      assert.deepEqual(v.dialogs, [], 'nothing ran')
      assert.deepEqual(v.console, [], 'no CSP violation (table alignment would be an inline style)')
    } finally {
      await v.close()
    }
    const raw = await server.request(url, { headers: { 'user-agent': String(visitor.userAgent) } })
    assert.ok(raw.body.length < 15_000, `${raw.body.length} bytes of HTML+CSS+JS`)
    assert.ok(raw.text().includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  }
})

test('the build admin page: a developer edits the notes in the form, the install page shows the new markdown', { skip: NO_CHROMIUM, timeout: 60_000 }, async (t) => {
  const build = await uploadBuild()
  await server.app.services.accounts.createUser({ email: 'dev@example.com', name: 'Dev', role: 'developer', password: PASSWORD })
  const { page } = await signInToAdmin(t, browser!, server, { email: 'dev@example.com', password: PASSWORD }, DESKTOP)
  await page.goto(`${server.url}/admin/builds/${build.id}`)
  await page.click('summary:has-text("Edit release notes")')
  assert.equal(await page.inputValue('textarea[name=notes]'), 'Original notes', 'the form starts from the stored markdown')
  await page.fill('textarea[name=notes]', '1. First\n2. Second with <b>tags</b>')
  assert.equal(await submitForm(page, 'button:has-text("Save release notes")'), 303)
  assert.equal(new URL(page.url()).pathname, `/admin/builds/${build.id}`)
  assert.deepEqual(await page.locator('.notes-md ol > li').allInnerTexts(), ['First', 'Second with <b>tags</b>'])
  assert.equal(await storedNotes(build.id), '1. First\n2. Second with <b>tags</b>', 'the textarea\'s CRLF stored as LF')

  const v = await visit(browser!, build.installPageUrl, IPHONE)
  try {
    assert.deepEqual(await v.page.locator('#notes ol > li').allInnerTexts(), ['First', 'Second with <b>tags</b>'], 'no page cache holds the old notes')
    assert.equal(await v.page.locator('#notes b').count(), 0)
  } finally {
    await v.close()
  }
})

test('the admin form: CSRF required, viewers refused, hostile text refused with its code, old notes intact', async () => {
  const build = await uploadBuild()
  const { accounts } = server.app.services
  await accounts.createUser({ email: 'viewer@example.com', name: 'Viewer', role: 'viewer', password: PASSWORD })
  await accounts.createUser({ email: 'admin@example.com', name: 'Admin', role: 'admin', password: PASSWORD })
  const viewer = await accounts.login({ email: 'viewer@example.com', password: PASSWORD, clientAddress: '127.0.0.1' })
  const admin = await accounts.login({ email: 'admin@example.com', password: PASSWORD, clientAddress: '127.0.0.1' })
  const post = (session: { id: string }, fields: Record<string, string>, id = build.id) =>
    server.request(`${server.url}/admin/builds/${id}/notes`, {
      method: 'POST',
      headers: { cookie: `__Host-airstrip-session=${session.id}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    })

  const refusals: Array<[string, HttpResponse, number, string]> = [
    ['no CSRF token', await post(admin, { notes: 'forged' }), 403, 'csrf-invalid'],
    ['another session\'s CSRF token', await post(admin, { notes: 'forged', _csrf: csrfTokenFor(viewer.id) }), 403, 'csrf-invalid'],
    ['a viewer', await post(viewer, { notes: 'viewer was here', _csrf: csrfTokenFor(viewer.id) }), 403, 'forbidden'],
    ['over the cap', await post(admin, { notes: 'x'.repeat(20_001), _csrf: csrfTokenFor(admin.id) }), 413, 'release-notes-too-long'],
    ['a NUL byte', await post(admin, { notes: 'before\u0000after', _csrf: csrfTokenFor(admin.id) }), 422, 'invalid-release-notes'],
    ['the field twice', await server.request(`${server.url}/admin/builds/${build.id}/notes`, {
      method: 'POST',
      headers: { cookie: `__Host-airstrip-session=${admin.id}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(csrfTokenFor(admin.id))}&notes=a&notes=b`,
    }), 400, 'bad-request'],
    ['an unknown build', await post(admin, { notes: 'x', _csrf: csrfTokenFor(admin.id) }, 'A'.repeat(22)), 404, 'build-not-found'],
  ]
  for (const [name, response, status, code] of refusals) {
    assert.equal(response.status, status, `${name}: ${response.text().slice(0, 200)}`)
    assert.match(String(response.headers['content-type']), /text\/html/, `${name}: an HTML error page`)
    assert.ok(response.text().includes(code), `${name}: names ${code}`)
  }
  assert.equal(await storedNotes(build.id), 'Original notes', 'nothing stored')

  const viewerPage = await server.request(`${server.url}/admin/builds/${build.id}`, { headers: { cookie: `__Host-airstrip-session=${viewer.id}` } })
  assert.equal(viewerPage.status, 200)
  assert.ok(!viewerPage.text().includes('Edit release notes'), 'viewers get no form')

  const saved = await post(admin, { notes: '  Line one\r\nLine two\rLine three  \r\n', _csrf: csrfTokenFor(admin.id) })
  assert.equal(saved.status, 303)
  assert.equal(saved.headers.location, `/admin/builds/${build.id}`)
  assert.equal(await storedNotes(build.id), 'Line one\nLine two\nLine three', 'CR/LF and lone CR become LF, ends trimmed')
  assert.equal((await post(admin, { notes: '   ', _csrf: csrfTokenFor(admin.id) })).status, 303)
  assert.equal(await storedNotes(build.id), null, 'empty removes the notes')
})

test('PATCH /api/v1/builds/:id { releaseNotes }: token scopes, caps and hostile text; refused edits change nothing', async () => {
  const build = await uploadBuild()
  const other = await uploadBuild(OTHER_IPA)
  const { meta } = server.app.services
  const uploadOnly = await meta.createApiToken('ci-upload', { scope: 'upload' })
  const boundHere = await meta.createApiToken('bitbar-only', { scope: 'full', bundleId: 'com.bitbar.BitBarSample' })
  const boundElsewhere = await meta.createApiToken('appinfo-only', { scope: 'full', bundleId: 'com.icyleaf.AppInfoDemo' })

  const refusals: Array<[string, HttpResponse, number, string]> = [
    ['no token', await server.request(`${server.url}/api/v1/builds/${build.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"releaseNotes":"x"}' }), 401, 'unauthorized'],
    ['an upload-only token', await patchNotes(build.id, { releaseNotes: 'x' }, uploadOnly.token), 403, 'forbidden'],
    ['a token bound to another app', await patchNotes(build.id, { releaseNotes: 'x' }, boundElsewhere.token), 403, 'forbidden'],
    ['over the cap', await patchNotes(build.id, { releaseNotes: 'é'.repeat(20_001) }), 413, 'release-notes-too-long'],
    ['over the body limit', await patchNotes(build.id, { releaseNotes: 'x'.repeat(2 * 1024 * 1024) }), 413, 'upload-too-large'],
    ['a NUL byte', await patchNotes(build.id, { releaseNotes: 'before\u0000after' }), 422, 'invalid-release-notes'],
    ['an escape character', await patchNotes(build.id, { releaseNotes: 'colour \u001b[31mred' }), 422, 'invalid-release-notes'],
    ['a lone surrogate', await patchNotes(build.id, '{"releaseNotes":"broken \\ud800 text"}'), 422, 'invalid-release-notes'],
    ['NUL with a keep mark: nothing applied', await patchNotes(build.id, { keep: true, releaseNotes: '\u0000' }), 422, 'invalid-release-notes'],
    ['an object, not a string', await patchNotes(build.id, { releaseNotes: { text: 'x' } }), 400, 'bad-request'],
    ['not JSON', await patchNotes(build.id, '{"releaseNotes":'), 400, 'bad-request'],
    ['an unknown build', await patchNotes('A'.repeat(22), { releaseNotes: 'x' }), 404, 'build-not-found'],
  ]
  for (const [name, response, status, code] of refusals) {
    assert.equal(response.status, status, `${name}: ${response.text().slice(0, 200)}`)
    assert.equal(response.json().error, code, name)
  }
  const unchanged = await meta.getBuild(build.id)
  assert.equal(unchanged?.notes, 'Original notes', 'old notes intact')
  assert.equal(unchanged?.keep, false, 'a refused PATCH applies none of its fields')

  const edited = await patchNotes(build.id, { releaseNotes: '- <script>alert(1)</script>\r\n- [bad](javascript:alert(1))\r\n' }, boundHere.token)
  assert.equal(edited.status, 200, edited.text())
  assert.deepEqual(edited.json(), { id: build.id, channel: 'main', keep: false, releaseNotes: '- <script>alert(1)</script>\n- [bad](javascript:alert(1))' })
  const shown = await server.request(`${server.url}/api/v1/builds/${build.id}`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(shown.json().notes, '- <script>alert(1)</script>\n- [bad](javascript:alert(1))', 'markdown is stored as written')
  const page = (await server.request(build.installPageUrl, { headers: { 'user-agent': UA.iphone } })).text()
  assert.match(page, /<ul>\s*<li>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/li>\s*<li>\[bad\]\(javascript:alert\(1\)\)<\/li>\s*<\/ul>/)
  assert.ok(!page.includes('href="javascript'))

  assert.equal((await patchNotes(other.id, { releaseNotes: 'full token: any app' })).status, 200)
  assert.equal(await storedNotes(other.id), 'full token: any app')
  const cleared = await patchNotes(build.id, { releaseNotes: null })
  assert.deepEqual(cleared.json(), { id: build.id, channel: 'main', keep: false, releaseNotes: null })
  assert.ok(!(await server.request(build.installPageUrl)).text().includes('What’s new'), 'no notes section without notes')
  assert.deepEqual((await patchNotes(build.id, { keep: true })).json(), { id: build.id, channel: 'main', keep: true }, 'notes untouched when not sent')
  assert.equal(await storedNotes(build.id), null)
})

test('OpenAPI documents releaseNotes on PATCH /api/v1/builds/{id}', async () => {
  const doc = (await server.request(`${server.url}/api/openapi.json`)).json()
  const patch = doc.paths['/api/v1/builds/{id}'].patch
  const schema = patch.requestBody.content['application/json'].schema
  assert.ok(schema.properties.releaseNotes, JSON.stringify(schema))
  assert.match(JSON.stringify(schema.properties.releaseNotes), /20000/)
  assert.ok(patch.responses['413'] && patch.responses['422'])
})

test('the release mail: markdown in the HTML part (one renderer), the notes as typed in the text part', () => {
  const notes = '- Fixed **login**\n- <script>alert(1)</script>\n- [docs](https://example.com/docs) [x](javascript:alert(1))'
  const mail = buildReleaseEmail(
    {
      app: { id: 'a'.repeat(22), bundleId: 'com.example.app', name: 'Example' },
      build: { id: 'b'.repeat(22), version: '2.0', build: '100', size: 1234, sha256: 'c'.repeat(64), notes, createdAt: '2026-11-26T10:00:00.000Z' },
      installPageUrl: 'https://ota.example.com/i/bbbbbbbbbbbbbbbbbbbbbb',
      appPageUrl: 'https://ota.example.com/apps/aaaaaaaaaaaaaaaaaaaaaa',
    } as Parameters<typeof buildReleaseEmail>[0],
    { from: 'a@example.test', to: 'b@example.test', deliveryId: 'd'.repeat(22), qrPng: Buffer.from('png'), iconPng: null },
  )
  assert.match(mail.html, /<ul>\s*<li>Fixed <strong>login<\/strong><\/li>\s*<li>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/li>/)
  assert.ok(mail.html.includes('<a href="https://example.com/docs" rel="noopener noreferrer nofollow" target="_blank">docs</a>'))
  assert.ok(!mail.html.includes('href="javascript') && !mail.html.includes('<script>'))
  assert.ok(mail.text.includes(notes), 'plain text: the markdown as typed')
})
