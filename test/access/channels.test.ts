// Channels over the real server: uploads go to a channel (query or multipart field, default "main"),
// the API lists and edits them, the app page shows each channel's newest build and the shown
// channel's history, and the routes appear in the OpenAPI document.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { api } from '../support/api.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { UA } from '../web/browser.ts'
import { uploadTo } from './access-helpers.ts'

async function multipartUpload(server: TestServer, path: string, fields: Record<string, string>) {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append('file', new Blob([readFileSync(path)]), 'app.ipa')
  const encoded = new Request('https://x/', { method: 'POST', body: form })
  return server.request(`${server.url}/api/v1/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': encoded.headers.get('content-type')! },
    body: Buffer.from(await encoded.arrayBuffer()),
  })
}

test('uploads go to a channel; pages and the API show channels with their newest build and history', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  const call = api(server)
  const ipa = fixture('ipa', 'lagunitas-Sample.ipa')
  const main1 = (await server.upload(ipa)).json()
  assert.deepEqual([main1.channel, main1.keep], ['main', false])
  const beta1 = (await multipartUpload(server, ipa, { channel: ' Beta ', notes: 'first beta' })).json()
  assert.equal(beta1.channel, 'beta')
  const beta2 = await uploadTo(server, ipa, 'beta')
  const refused = await server.request(`${server.url}/api/v1/builds?channel=no/slashes`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' }, body: readFileSync(ipa) })
  assert.equal(refused.status, 400)
  assert.equal(refused.json().error, 'bad-request')
  assert.equal((await call('GET', '/api/v1/builds?limit=10')).body.builds.length, 3, 'nothing stored for the refused upload')
  assert.equal((await call('GET', `/api/v1/builds/${beta2.id}`)).body.channel, 'beta')

  const listed = (await call('GET', `/api/v1/apps/${main1.app.id}/channels`)).body
  assert.deepEqual(listed.app, { bundleId: main1.app.bundleId, access: 'public', hasPassword: false })
  assert.deepEqual(
    listed.channels.map((c: any) => [c.name, c.buildCount, c.latestBuildId, c.access, c.effectiveAccess, c.pageUrl]),
    [['beta', 2, beta2.id, 'inherit', 'public', `${server.url}/apps/${main1.app.id}?channel=beta`], ['main', 1, main1.id, 'inherit', 'public', `${server.url}/apps/${main1.app.id}?channel=main`]],
  )

  // The app page: main's newest build, both channels listed, main's history only.
  const appPage = (await server.request(`${server.url}/apps/${main1.app.id}`, { headers: { 'user-agent': UA.iphone } })).text()
  assert.match(appPage, /id="channels"/)
  assert.match(appPage, new RegExp(`href="${server.url}/apps/${main1.app.id}\\?channel=beta"`))
  const historyOf = (html: string) => [...(/<ul class="card list" id="history">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '').matchAll(/\/i\/([A-Za-z0-9_-]+)/g)].map((m) => m[1])
  assert.deepEqual(historyOf(appPage), [main1.id])
  const betaPage = (await server.request(`${server.url}/apps/${main1.app.id}?channel=beta`)).text()
  assert.match(betaPage, /Channel <strong>beta<\/strong>/)
  assert.deepEqual(historyOf(betaPage), [beta2.id, beta1.id])
  assert.deepEqual(historyOf((await server.request(`${server.url}/i/${beta1.id}`)).text()), [beta2.id, beta1.id])
  for (const bad of ['nope', 'Bad%2FName']) assert.equal((await server.request(`${server.url}/apps/${main1.app.id}?channel=${bad}`)).status, 404, bad)

  // Moving and marking builds, deleting channels.
  assert.deepEqual((await call('PATCH', `/api/v1/builds/${beta1.id}`, { channel: 'nightly', keep: true })).body, { id: beta1.id, channel: 'nightly', keep: true })
  assert.equal((await call('PATCH', `/api/v1/builds/${beta1.id}`, { channel: 'Not Valid' })).status, 400)
  assert.equal((await call('DELETE', `/api/v1/apps/${main1.app.id}/channels/nightly`)).body.error, 'channel-not-empty')
  assert.equal((await call('PATCH', `/api/v1/builds/${beta1.id}`, { channel: 'beta' })).status, 200)
  assert.equal((await call('DELETE', `/api/v1/apps/${main1.app.id}/channels/nightly`)).status, 204)
  assert.equal((await call('GET', `/api/v1/apps/${main1.app.id}/channels/nightly`)).status, 404)
  // Settings may name an app by bundle id before its first upload.
  const early = await call('PATCH', '/api/v1/apps/com.example.later/channels/beta', { access: 'invite', retention: { keepLast: 5 } })
  assert.deepEqual([early.status, early.body.pageUrl, early.body.effectiveAccess], [200, null, 'invite'])
  assert.equal((await call('PATCH', '/api/v1/apps/com.example.later/channels/beta', { access: 'sometimes' })).status, 400)
  assert.equal((await call('GET', '/api/v1/apps/not-an-app/channels')).status, 404)
  assert.equal((await server.request(`${server.url}/api/v1/apps/${main1.app.id}/channels`)).status, 401)

  const openapi = (await server.request(`${server.url}/api/openapi.json`)).json()
  for (const path of ['/api/v1/apps/{id}/channels', '/api/v1/apps/{id}/channels/{channel}', '/api/v1/apps/{id}/access', '/api/v1/apps/{id}/invites', '/api/v1/invites/{id}', '/api/v1/builds/{id}/analytics', '/api/v1/apps/{id}/analytics', '/api/v1/retention/run']) {
    assert.ok(openapi.paths[path], path)
  }
  assert.ok(openapi.paths['/api/v1/builds/{id}'].patch)
})
