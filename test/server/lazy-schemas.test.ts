// Route schemas compile on a route's first request (src/server/lazy-schema-compilers.ts), not at
// start: every one of them must still compile, and validation and serialisation must behave as
// with fastify's eager compilers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startServer } from '../support/server.ts'

test('every route schema compiles, and none is compiled before its route is used', async (t) => {
  const server = await startServer(t)
  await server.app.server.ready()
  const compiled = server.app.compileSchemas()
  // Request validators and response serializers of the API routes, none compiled yet (eager compilers would leave 0).
  assert.ok(compiled > 100, `compiled ${compiled} schemas`)
  assert.equal(server.app.compileSchemas(), 0, 'a second call finds nothing left to compile')
})

test('a lazily compiled validator rejects bad input with its errors, and serializers shape responses', async (t) => {
  const server = await startServer(t)
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await server.request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: response.json() }
  }
  // First request of this route: its validator compiles now, and its errors reach the answer.
  const missing = await call('POST', '/api/v1/testers', { name: 'A' })
  assert.equal(missing.status, 400)
  assert.equal(missing.body.error, 'bad-request')
  assert.match(missing.body.message, /email/, 'the message names the missing property')
  // The same validator, compiled once, accepts a good body and rejects another bad one.
  const created = await call('POST', '/api/v1/testers', { name: 'Ann', email: 'ann@example.com' })
  assert.equal(created.status, 201, JSON.stringify(created.body))
  const bad = await call('POST', '/api/v1/testers', { name: 'B', email: 'not-an-address' })
  assert.equal(bad.status, 400)
  assert.match(bad.body.message, /e-mail address/)
  // The response serializer (compiled on first use) writes the schema's properties.
  const listed = await call('GET', '/api/v1/testers')
  assert.equal(listed.status, 200)
  assert.deepEqual(listed.body.testers.map((tester: { email: string }) => tester.email), ['ann@example.com'])
  assert.equal(listed.body.testers[0].id, created.body.id)
})
