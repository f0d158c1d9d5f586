// Unknown addresses: browsers get the HTML not-found page, the API and the installer's paths keep
// their JSON and plain-text 404s.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startServer } from '../support/server.ts'
import { UA } from './browser.ts'

test('unknown browser paths get the HTML not-found page; /api/… keeps JSON, installer paths plain text', async (t) => {
  const server = await startServer(t)
  for (const path of ['/admin/no-such-page', '/admin/apps/x/y/z', '/i/abc/extra', '/apps/abc/extra', '/enroll/x/y/z', '/no-such-page', '/admin/<script>alert(1)</script>']) {
    const response = await server.request(`${server.url}${path}`, { headers: { 'user-agent': UA.iphone } })
    assert.equal(response.status, 404, path)
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8', path)
    assert.equal(response.headers['cache-control'], 'no-store', path)
    const html = response.text()
    assert.match(html, /<h1>This page isn’t here<\/h1>/, path)
    assert.match(html, new RegExp(`href="${server.url}/?"`), `${path}: a link back to the apps`)
    assert.ok(!html.includes('<script>alert'), `${path}: the path is never echoed unescaped`)
    // The page's inline style carries this response's nonce, and the CSP allows exactly it.
    const nonce = /nonce="([^"]+)"/.exec(html)?.[1]
    assert.ok(nonce, path)
    assert.match(String(response.headers['content-security-policy']), new RegExp(`style-src 'nonce-${nonce.replace(/[+/=]/g, '\\$&')}'`))
  }
  const head = await server.request(`${server.url}/admin/nope`, { method: 'HEAD' })
  assert.equal(head.status, 404)
  assert.equal(head.headers['content-type'], 'text/html; charset=utf-8')

  const api = await server.request(`${server.url}/api/v1/no-such-thing`)
  assert.equal(api.status, 404)
  assert.match(String(api.headers['content-type']), /^application\/json/)
  assert.deepEqual(api.json(), { error: 'not-found', message: 'no route for GET /api/v1/no-such-thing' })

  const post = await server.request(`${server.url}/admin/nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  assert.equal(post.status, 404)
  assert.match(String(post.headers['content-type']), /^application\/json/, 'only page loads (GET/HEAD) get the page')

  for (const path of ['/m/nope/extra', '/d/nope/extra/more']) {
    const installer = await server.request(`${server.url}${path}`)
    assert.equal(installer.status, 404, path)
    assert.equal(installer.headers['content-type'], 'text/plain; charset=utf-8', path)
  }
})
