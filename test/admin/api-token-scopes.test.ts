// Scoped API tokens over real HTTPS: upload-only tokens reach only POST /api/v1/builds, app-bound
// ones only their app (refused before anything is stored); full tokens keep the whole API.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fixture } from '../support/fixtures.ts'
import { startServer } from '../support/server.ts'

const IPHONE = fixture('ipa', 'appinfo-iphone.ipa') // com.icyleaf.AppInfoDemo
const OTHER = fixture('ipa', 'lagunitas-Sample.ipa')

test('upload-only and app-bound tokens are limited; full tokens are not', async (t) => {
  const server = await startServer(t)
  const { meta } = server.app.services
  const upload = await meta.createApiToken('ci', { scope: 'upload' })
  const bound = await meta.createApiToken('ci-appinfo', { scope: 'upload', bundleId: 'com.icyleaf.AppInfoDemo' })
  const api = (path: string, token: string, method = 'GET') => server.request(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } })

  const uploaded = await server.upload(IPHONE, { token: upload.token })
  assert.equal(uploaded.status, 201, uploaded.text())
  const buildId = uploaded.json().id as string

  for (const [method, path] of [['GET', '/api/v1/builds'], ['GET', `/api/v1/builds/${buildId}`], ['DELETE', `/api/v1/builds/${buildId}`], ['GET', '/api/v1/apps'], ['GET', '/api/v1/testers'], ['GET', '/metrics']] as const) {
    const refused = await api(path, upload.token, method)
    assert.equal(refused.status, 403, `${method} ${path}`)
    assert.equal(refused.json().error, 'forbidden')
  }
  assert.equal((await api(`/api/v1/builds/${buildId}`, server.apiToken)).status, 200, 'the full token still reads')

  // Bound to com.icyleaf.AppInfoDemo: another app's .ipa is refused and leaves nothing behind.
  const before = (await meta.listBuilds({ limit: 50 })).builds.length
  const wrongApp = await server.upload(OTHER, { token: bound.token })
  assert.equal(wrongApp.status, 403, wrongApp.text())
  assert.match(wrongApp.json().message, /com\.icyleaf\.AppInfoDemo/)
  assert.equal((await meta.listBuilds({ limit: 50 })).builds.length, before)
  assert.equal((await meta.listApps()).length, 1)

  const rightApp = await server.upload(IPHONE, { token: bound.token })
  assert.equal(rightApp.status, 201, rightApp.text())

  assert.equal((await server.upload(OTHER)).status, 201, 'the full token uploads any app')
  assert.equal((await api(`/api/v1/builds/${buildId}`, server.apiToken, 'DELETE')).status, 204)
})
