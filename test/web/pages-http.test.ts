// The pages over plain HTTP requests (no browser): 404s, the insecure-HTTP banner, the dev CA section.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixture } from '../support/fixtures.ts'
import { startServer } from '../support/server.ts'
import { INSECURE_HTTP_BANNER } from '../../src/ota/install-page.ts'
import { layoutView } from '../../src/web/page-views.ts'
import { renderPage } from '../../src/web/render.ts'
import { NOW, UA } from './browser.ts'

test('unknown builds and apps get a friendly HTML 404, never JSON', async (t) => {
  const server = await startServer(t)
  for (const path of ['/i/doesNotExist', '/apps/doesNotExist', '/i/not%20an%20id', '/apps/a.b']) {
    const response = await server.request(`${server.url}${path}`)
    assert.equal(response.status, 404, path)
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8', path)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.match(response.text(), /<h1>This (build|app) isn’t here<\/h1>/)
    assert.match(response.text(), /Ask whoever sent it for a new link/)
  }
})

test('pages are HTML, never cached, and vary by User-Agent', async (t) => {
  const server = await startServer(t)
  server.setNow(NOW)
  const build = (await server.upload(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'))).json()
  for (const url of [`${server.url}/`, build.installPageUrl, `${server.url}/apps/${build.app.id}`]) {
    const first = await server.request(url, { headers: { 'user-agent': UA.iphone } })
    assert.equal(first.status, 200, url)
    assert.equal(first.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(first.headers['cache-control'], 'no-store')
    assert.match(String(first.headers['vary']), /user-agent/i)
    server.setNow(new Date(NOW.getTime() + 60_000))
    const second = await server.request(url, { headers: { 'user-agent': UA.iphone } })
    server.setNow(NOW)
    const manifestLink = (html: string) => /download-manifest&amp;url=([^"]+)"/.exec(html)?.[1]
    if (url !== `${server.url}/`) {
      assert.ok(manifestLink(first.text()))
      assert.notEqual(manifestLink(first.text()), manifestLink(second.text()), 'the manifest link is minted at render time (expiry follows the clock)')
    }
  }
})

test('with the dev CA, pages offer "First time? Trust this server" with working links', async (t) => {
  const server = await startServer(t)
  const html = (await server.request(`${server.url}/`)).text()
  assert.match(html, /<summary>First time\? Trust this server<\/summary>/)
  assert.match(html, /Certificate Trust Settings/)
  for (const path of ['/ca.mobileconfig', '/ca.crt']) {
    assert.ok(html.includes(`href="${server.url}${path}"`), path)
    assert.equal((await server.request(`${server.url}${path}`)).status, 200, path)
  }
})

test('without a dev CA (own certificate) there is no trust section', () => {
  const services = { config: { tls: { mode: 'files' } }, devCaDer: null, urls: { home: () => 'https://ota.example.com/' } } as never
  const layout = layoutView(services, 'n0nce', 'Not found')
  assert.equal(layout.ca, null)
  const html = renderPage('not-found', { layout, heading: 'Gone', message: 'Deleted.' })
  assert.doesNotMatch(html, /Trust this server/)
  assert.match(html, /<style nonce="n0nce">/)
})

test('served over plain HTTP, every page says iOS will refuse to install', async (t) => {
  const server = await startServer(t, { insecureHttp: true })
  server.setNow(NOW)
  const build = (await server.upload(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'))).json()
  for (const url of [`${server.url}/`, build.installPageUrl, `${server.url}/apps/${build.app.id}`, `${server.url}/i/missing`]) {
    const html = (await server.request(url, { headers: { 'user-agent': UA.iphone } })).text()
    assert.ok(html.includes('iOS will refuse to install the app'), url)
    assert.match(html, /role="alert"/)
  }
  assert.match(INSECURE_HTTP_BANNER, /iOS will refuse to install/)
})
