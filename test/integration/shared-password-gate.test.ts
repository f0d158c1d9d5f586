// Two instances on one PostgreSQL behind an imagined load balancer: wrong passwords at the password
// gate count once for the whole cluster (password_attempts), so alternating between instances
// gives an attacker the configured number of guesses in all, not that number per instance.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { isAirstripError } from '../../src/errors.ts'
import { uploadTo } from '../access/access-helpers.ts'
import { api } from '../support/api.ts'
import { fixture } from '../support/fixtures.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { startServer, type TestServer } from '../support/server.ts'

/** Ten seconds into a minute: every attempt below falls in one fixed window. */
const NOW = new Date('2026-03-02T10:00:10Z')
/** access-service.ts: wrong passwords per client and scope, and per scope, per minute. */
const PER_CLIENT = 5
const PER_SCOPE = 30

const form = (password: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ password, scope: '' }).toString(),
})

/** Two servers on one fresh database, their clocks at NOW, an app behind the password "open sesame". */
async function twoInstances(t: { after(fn: () => unknown): void }) {
  const databaseUrl = await (await sharedPostgres()).createDatabase()
  const servers = [await startServer(t, { databaseUrl }), await startServer(t, { databaseUrl })] as const
  for (const server of servers) server.setNow(NOW)
  const build = await uploadTo(servers[0], fixture('ipa', 'bitbar-sample-latest-iOS.ipa'), 'main')
  assert.equal((await api(servers[0])('PUT', `/api/v1/apps/${build.app.id}/access`, { access: 'password', password: 'open sesame' })).status, 200)
  const pageOn = (server: TestServer) => `${server.url}/i/${build.id}`
  return { databaseUrl, servers, build, pageOn }
}

describe('instances sharing PostgreSQL: the password gate', { skip: postgresUnavailable() ?? false }, () => {
  it('wrong passwords alternated between two instances lock after the configured total, not per instance', async (t) => {
    const { databaseUrl, servers, pageOn } = await twoInstances(t)
    for (let i = 0; i < PER_CLIENT; i++) {
      const server = servers[i % 2]!
      const wrong = await server.request(pageOn(server), form(`guess ${i}`))
      assert.equal(wrong.status, 403, `guess ${i} on instance ${i % 2}`)
    }
    // Instance B has seen only two guesses itself; the cluster has seen five.
    for (const server of servers) {
      const locked = await server.request(pageOn(server), form('open sesame'))
      assert.equal(locked.status, 429, 'locked on both instances, even for the right password')
      assert.ok(Number(locked.headers['retry-after']) >= 1 && Number(locked.headers['retry-after']) <= 50, String(locked.headers['retry-after']))
    }

    // The next window: both let the right password in, and the old window's rows are gone.
    for (const server of servers) server.setNow(new Date(NOW.getTime() + 60_000))
    const right = await servers[1].request(pageOn(servers[1]), form('open sesame'))
    assert.equal(right.status, 303)
    const client = new pg.Client({ connectionString: databaseUrl })
    await client.connect()
    try {
      const { rows } = await client.query<{ window_start: string }>('select window_start from password_attempts')
      assert.ok(rows.every((row) => row.window_start === '2026-03-02T10:01:00.000Z'), JSON.stringify(rows))
    } finally {
      await client.end()
    }
  })

  it('simultaneous guesses on both instances: exactly the allowed number is checked, the rest get 429', async (t) => {
    const { servers, pageOn } = await twoInstances(t)
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => servers[i % 2]!.request(pageOn(servers[i % 2]!), form(`guess ${i}`))))
    const statuses = answers.map((answer) => answer.status).sort()
    assert.deepEqual(statuses, [...Array(PER_CLIENT).fill(403), ...Array(12 - PER_CLIENT).fill(429)])
  })

  it('the per-scope limit counts every client on every instance; a right password is not held against it', async (t) => {
    const { servers, build } = await twoInstances(t)
    const scope = { bundleId: build.app.bundleId as string, channel: null }
    const unlock = (i: number, password: string) => servers[i % 2]!.app.services.access.unlock(scope, password, `192.0.2.${i}`)
    assert.ok((await unlock(100, 'open sesame')).setCookie, 'a right password first')
    for (let i = 0; i < PER_SCOPE; i++) await assert.rejects(unlock(i, 'wrong'), (e) => isAirstripError(e, 'access-denied'), `guess ${i}`)
    for (const i of [31, 32]) await assert.rejects(unlock(i, 'open sesame'), (e) => isAirstripError(e, 'too-many-attempts'), 'a new client on either instance waits')
  })
})
