// An invite-only channel end to end over real HTTPS: a tester's personal link opened in Chromium
// on an iPhone viewport, the Install link's manifest and .ipa fetched without cookies (as iOS's
// installer does), then the link revoked and every one of those URLs refused at once.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { api } from '../support/api.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer } from '../support/server.ts'
import { IPHONE, NO_CHROMIUM, NOW, launchBrowser, visit } from '../web/browser.ts'
import { assetsOf, manifestUrlOf, tokenOf, uploadTo } from './access-helpers.ts'

let browser: Browser
before(async () => {
  if (!NO_CHROMIUM) browser = await launchBrowser()
})
after(async () => browser?.close())

async function inviteOnlyBeta(t: Parameters<typeof startServer>[0]) {
  const server = await startServer(t)
  server.setNow(NOW)
  const call = api(server)
  const beta = await uploadTo(server, fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), 'beta')
  assert.equal(beta.channel, 'beta')
  const bundleId = beta.app.bundleId
  const jane = (await call('POST', '/api/v1/testers', { name: 'Jane Tester', email: 'jane@example.com' })).body
  const channel = await call('PATCH', `/api/v1/apps/${bundleId}/channels/beta`, { access: 'invite' })
  assert.equal(channel.status, 200, JSON.stringify(channel.body))
  assert.deepEqual([channel.body.access, channel.body.effectiveAccess], ['invite', 'invite'])
  const invite = await call('POST', `/api/v1/apps/${bundleId}/invites`, { tester: 'jane@example.com', channel: 'beta' })
  assert.equal(invite.status, 201, JSON.stringify(invite.body))
  return { server, call, beta, bundleId, jane, invite: invite.body as { id: string; url: string } }
}

test('invite-only: the personal link installs on an iPhone without cookies; revoking it stops every URL it handed out', { skip: NO_CHROMIUM, timeout: 60_000 }, async (t) => {
  const { server, call, beta, jane, invite } = await inviteOnlyBeta(t)
  assert.match(invite.url, new RegExp(`^${server.url}/t/[A-Za-z0-9_-]{43}$`))
  assert.ok(!JSON.stringify((await call('GET', `/api/v1/apps/${beta.app.id}/invites`)).body).includes(invite.url.split('/t/')[1]!), 'the link is shown once')

  // Without the personal link: a clean 403 page, never a link to the build.
  for (const url of [`${server.url}/i/${beta.id}`, `${server.url}/apps/${beta.app.id}`]) {
    const refused = await server.request(url)
    assert.equal(refused.status, 403, url)
    assert.match(refused.headers['content-type'] ?? '', /^text\/html/)
    assert.match(refused.text(), /invite-only/)
    assert.doesNotMatch(refused.text(), /\/m\/|\/d\/|itms-services/)
  }
  assert.doesNotMatch((await server.request(`${server.url}/`)).text(), /BitBar/, 'not on the public app list')

  const page = await visit(browser, invite.url, IPHONE)
  t.after(() => page.close())
  assert.equal(page.status, 200)
  assert.equal(await page.page.locator('#channel strong').textContent(), 'beta')
  const href = await page.page.locator('#install').getAttribute('href')
  assert.ok(href?.startsWith('itms-services://?action=download-manifest&url='), String(href))
  const manifestUrl = manifestUrlOf(href!)
  const iconUrl = await page.page.locator('img.icon').getAttribute('src')
  assert.ok(iconUrl)
  // Every token the page mints is bound to Jane's grant.
  for (const url of [manifestUrl, iconUrl]) assert.equal(tokenOf(url).grant, invite.id, url)
  // The build's own page under the personal link keeps the secret in its links.
  const history = await page.page.locator('#history a').first().getAttribute('href')
  assert.equal(history, `${invite.url}/${beta.id}`)
  assert.equal((await server.request(history!)).status, 200)

  // iOS's installer: no cookies, manifest then .ipa (and the icon).
  const manifest = await server.request(manifestUrl)
  assert.equal(manifest.status, 200)
  assert.equal(manifest.headers['set-cookie'], undefined)
  const assets = assetsOf(manifest)
  assert.equal(tokenOf(assets.ipa).grant, invite.id)
  assert.ok(tokenOf(assets.ipa).expiry <= tokenOf(manifestUrl).expiry, 'never outlives the manifest link')
  const ipa = await server.request(assets.ipa)
  assert.equal(ipa.status, 200)
  assert.equal(ipa.body.length, beta.size)
  assert.equal((await server.request(assets.icon!)).status, 200)
  assert.equal((await server.request(iconUrl)).status, 200)

  await server.app.services.analytics.settled()
  const counts = (await call('GET', `/api/v1/builds/${beta.id}/analytics`)).body
  const mine = counts.testers.find((row: { testerId: string }) => row.testerId === jane.id)
  assert.deepEqual(
    { pageViews: mine.pageViews >= 2, manifestFetches: mine.manifestFetches, downloadsStarted: mine.downloadsStarted, downloadsCompleted: mine.downloadsCompleted },
    { pageViews: true, manifestFetches: 1, downloadsStarted: 1, downloadsCompleted: 1 },
  )

  assert.equal((await call('DELETE', `/api/v1/invites/${invite.id}`)).status, 204)
  for (const url of [manifestUrl, assets.ipa, assets.icon!, iconUrl]) {
    const refused = await server.request(url)
    assert.equal(refused.status, 410, url)
    assert.match(refused.headers['content-type'] ?? '', /^text\/plain/)
    assert.match(refused.text(), /revoked/)
    assert.doesNotMatch(refused.text(), /at \w+ \(|Error:/, 'no stack trace')
  }
  const head = await server.request(assets.ipa, { method: 'HEAD' })
  assert.equal(head.status, 410)
  await page.page.reload()
  assert.match(await page.page.locator('h1').textContent() ?? '', /no longer works/)
  assert.equal((await server.request(invite.url)).status, 410)
  assert.equal((await server.request(history!)).status, 410)
  assert.equal((await call('DELETE', `/api/v1/invites/${invite.id}`)).status, 404, 'already revoked')
})

test("invite-only: revoking a tester, or deleting them, stops their links; another tester's link is untouched", async (t) => {
  const { server, call, beta, bundleId, invite } = await inviteOnlyBeta(t)
  const joe = (await call('POST', '/api/v1/testers', { name: 'Joe', email: 'joe@example.com' })).body
  const joes = (await call('POST', `/api/v1/apps/${bundleId}/invites`, { tester: joe.id, channel: null })).body
  const pageOf = async (url: string) => (await server.request(url, { headers: { 'user-agent': IPHONE.userAgent! } })).text()
  const manifestFrom = async (url: string) => manifestUrlOf(/id="install"[^>]*href="([^"]+)"/.exec(await pageOf(url))![1]!.replaceAll('&amp;', '&'))
  const janesManifest = await manifestFrom(invite.url)
  const joesManifest = await manifestFrom(joes.url)
  assert.equal(tokenOf(joesManifest).grant, joes.id)

  const revoked = await call('DELETE', `/api/v1/apps/${bundleId}/testers/jane@example.com/invites`)
  assert.deepEqual(revoked.body, { revoked: 1 })
  assert.equal((await server.request(janesManifest)).status, 410)
  assert.equal((await server.request(joesManifest)).status, 200)

  // Making the channel public keeps live links working; making it password-only refuses invites (403).
  assert.equal((await call('PATCH', `/api/v1/apps/${bundleId}/channels/beta`, { access: 'password', password: 'a long secret' })).status, 200)
  assert.equal((await server.request(joesManifest)).status, 403)
  assert.equal((await call('PATCH', `/api/v1/apps/${bundleId}/channels/beta`, { access: 'invite' })).status, 200)
  assert.equal((await server.request(joesManifest)).status, 200)

  assert.equal((await call('DELETE', `/api/v1/testers/${joe.id}`)).status, 204)
  assert.equal((await server.request(joesManifest)).status, 410)
  assert.equal((await server.request(joes.url)).status, 403, 'the link of a deleted tester is simply unknown')
  assert.equal(beta.channel, 'beta')
})

test('invites refuse unknown testers and channels; personal links that are garbage are a clean 403', async (t) => {
  const { server, call, bundleId } = await inviteOnlyBeta(t)
  assert.equal((await call('POST', `/api/v1/apps/${bundleId}/invites`, { tester: 'nobody@example.com' })).body.error, 'tester-not-found')
  assert.equal((await call('POST', `/api/v1/apps/${bundleId}/invites`, { tester: 'jane@example.com', channel: 'nope' })).body.error, 'channel-not-found')
  assert.equal((await call('POST', `/api/v1/apps/${bundleId}/invites`, { tester: 'jane@example.com', channel: 'Bad/Name' })).status, 400)
  for (const path of ['/t/short', `/t/${'A'.repeat(43)}`, `/t/${'A'.repeat(43)}/${'B'.repeat(22)}`, '/t/..%2F..%2Fetc']) {
    const response = await server.request(`${server.url}${path}`)
    assert.equal(response.status, 403, path)
    assert.match(response.headers['content-type'] ?? '', /^text\/html/)
  }
})
