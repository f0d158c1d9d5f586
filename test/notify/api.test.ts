// The notification API over real HTTPS: testers, groups, app settings; hostile input gets a
// precise 4xx and changes nothing; everything is in the OpenAPI document.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startServer } from '../support/server.ts'

test('testers, groups and app settings: create, read, change, delete, with precise errors', async (t) => {
  const server = await startServer(t)
  const call = async (method: string, path: string, body?: unknown, token = server.apiToken) => {
    const response = await server.request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    return { status: response.status, body: response.body.length ? response.json() : null }
  }

  const scenarios: Array<[string, string, string, unknown, number, string]> = [
    ['no e-mail', 'POST', '/api/v1/testers', { name: 'A' }, 400, 'bad-request'],
    ['not an address', 'POST', '/api/v1/testers', { name: 'A', email: 'not-an-address' }, 400, 'bad-request'],
    ['header injection', 'POST', '/api/v1/testers', { name: 'A', email: 'a@b.example\r\nBcc: x@y.example' }, 400, 'bad-request'],
    ['bad phone', 'POST', '/api/v1/testers', { name: 'A', email: 'a@b.example', phone: '12345' }, 400, 'bad-request'],
    ['control characters in a name', 'POST', '/api/v1/testers', { name: 'A\u0000B', email: 'a@b.example' }, 400, 'bad-request'],
    ['not JSON', 'POST', '/api/v1/testers', '{"name":', 400, 'bad-request'],
    ['unknown tester', 'GET', '/api/v1/testers/AAAAAAAAAAAAAAAAAAAAAA', undefined, 404, 'tester-not-found'],
    ['unknown group', 'DELETE', '/api/v1/groups/AAAAAAAAAAAAAAAAAAAAAA', undefined, 404, 'group-not-found'],
    ['unknown delivery', 'GET', '/api/v1/deliveries/AAAAAAAAAAAAAAAAAAAAAA', undefined, 404, 'delivery-not-found'],
    ['unknown webhook', 'DELETE', '/api/v1/webhooks/AAAAAAAAAAAAAAAAAAAAAA', undefined, 404, 'webhook-not-found'],
    ['unknown app id', 'GET', '/api/v1/apps/AAAAAAAAAAAAAAAAAAAAAA/notifications', undefined, 404, 'app-not-found'],
    ['bad notifyOnUpload', 'PATCH', '/api/v1/apps/com.example.app/notifications', { notifyOnUpload: 'sometimes' }, 400, 'bad-request'],
    ['unknown tester id in a set', 'PATCH', '/api/v1/apps/com.example.app/notifications', { testerIds: ['AAAAAAAAAAAAAAAAAAAAAA'] }, 404, 'tester-not-found'],
    ['bad delivery filter', 'GET', '/api/v1/deliveries?status=lost', undefined, 400, 'bad-request'],
    ['foreign cursor', 'GET', '/api/v1/deliveries?cursor=abc', undefined, 400, 'bad-request'],
  ]
  for (const [name, method, path, body, status, code] of scenarios) {
    const response = await call(method, path, body)
    assert.equal(response.status, status, `${name}: ${JSON.stringify(response.body)}`)
    assert.equal(response.body.error, code, name)
  }
  assert.equal((await call('GET', '/api/v1/testers')).body.testers.length, 0, 'nothing was stored')
  for (const path of ['/api/v1/testers', '/api/v1/groups', '/api/v1/deliveries', '/api/v1/apps/com.example.app/notifications', '/api/v1/apps/com.example.app/webhooks']) {
    assert.equal((await call('GET', path, undefined, 'as_wrong')).status, 401, path)
  }

  const ann = await call('POST', '/api/v1/testers', { name: '  Ann  ', email: 'ANN@example.test' })
  assert.equal(ann.status, 201)
  assert.deepEqual([ann.body.name, ann.body.email, ann.body.phone], ['Ann', 'ann@example.test', null])
  assert.equal((await call('POST', '/api/v1/testers', { name: 'Ann 2', email: 'ann@EXAMPLE.test' })).status, 409)
  const changed = await call('PATCH', `/api/v1/testers/${ann.body.id}`, { phone: '+33 6 12 34 56 78' })
  assert.equal(changed.body.phone, '+33612345678')
  assert.equal((await call('PATCH', `/api/v1/testers/${ann.body.id}`, {})).status, 400, 'an empty change is refused')

  const group = await call('POST', '/api/v1/groups', { name: 'Beta' })
  assert.equal((await call('POST', '/api/v1/groups', { name: 'Beta' })).status, 409)
  assert.deepEqual((await call('PUT', `/api/v1/groups/${group.body.id}/members/${ann.body.id}`)).body.testerIds, [ann.body.id])
  assert.deepEqual((await call('PUT', `/api/v1/groups/${group.body.id}/members/${ann.body.id}`)).body.testerIds, [ann.body.id], 'idempotent')
  assert.equal((await call('PUT', `/api/v1/groups/${group.body.id}/members/AAAAAAAAAAAAAAAAAAAAAA`)).status, 404)
  assert.equal((await call('PATCH', `/api/v1/groups/${group.body.id}`, { name: 'Beta testers' })).body.name, 'Beta testers')
  assert.deepEqual((await call('GET', `/api/v1/testers/${ann.body.id}`)).body.groupIds, [group.body.id])

  const settings = await call('PATCH', '/api/v1/apps/com.example.app/notifications', { notifyOnUpload: 'always', groupIds: [group.body.id], addTesterIds: [ann.body.id] })
  assert.deepEqual(settings.body, { bundleId: 'com.example.app', notifyOnUpload: 'always', testerIds: [ann.body.id], groupIds: [group.body.id] })
  assert.equal((await call('DELETE', `/api/v1/groups/${group.body.id}`)).status, 204)
  assert.equal((await call('DELETE', `/api/v1/testers/${ann.body.id}`)).status, 204)
  assert.deepEqual((await call('GET', '/api/v1/apps/com.example.app/notifications')).body, { bundleId: 'com.example.app', notifyOnUpload: 'always', testerIds: [], groupIds: [] })

  const openapi = (await server.request(`${server.url}/api/openapi.json`)).json()
  for (const path of ['/api/v1/testers', '/api/v1/testers/{id}', '/api/v1/groups/{id}/members/{testerId}', '/api/v1/apps/{id}/notifications', '/api/v1/apps/{id}/webhooks', '/api/v1/webhooks/{id}', '/api/v1/deliveries', '/api/v1/deliveries/{id}/retry']) {
    assert.ok(openapi.paths[path], path)
  }
  const upload = openapi.paths['/api/v1/builds'].post.parameters.find((p: { name: string }) => p.name === 'notify')
  assert.equal(upload?.schema.type, 'boolean')
})
