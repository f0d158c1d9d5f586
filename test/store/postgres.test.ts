import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { Kysely, sql } from 'kysely'
import { MIGRATIONS, migrateToLatest, openDatabase } from '../../src/store/database.ts'
import type { Database } from '../../src/store/database.ts'
import { createSqliteMetaStore } from '../../src/store/meta-store.ts'
import type { MetaStore } from '../../src/store/meta-store.ts'
import { newId } from '../../src/store/new-id.ts'
import { claimDueDeliveries } from '../../src/store/outbox.ts'
import { createPostgresDialect, isPostgresUrl } from '../../src/store/postgres-dialect.ts'
import { sharedSecret } from '../../src/store/shared-secrets.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { sampleBuild } from './meta-store-adapters.ts'

/** Opens `url` as one more Airstrip instance would: its own pool, closed when the test ends. */
async function instance(t: TestContext, url: string): Promise<{ meta: MetaStore; db: Kysely<Database> }> {
  const db = await openDatabase(url)
  t.after(() => db.destroy())
  return { meta: createSqliteMetaStore(db), db }
}

describe('openDatabase (postgres)', { skip: postgresUnavailable() ?? false }, () => {
  it('recognises postgres URLs and nothing else', () => {
    for (const url of ['postgres://h/db', 'postgresql://u:p@h:5432/db', 'POSTGRES://h/db']) assert.ok(isPostgresUrl(url), url)
    for (const path of ['airstrip.db', '/data/postgres/airstrip.db', ':memory:', 'postgres:/x', 'mysql://h/db']) assert.ok(!isPostgresUrl(path), path)
  })

  it('migrates once, even when several instances start at the same moment, and keeps data across reopen', async (t) => {
    const url = await (await sharedPostgres()).createDatabase()
    const [first, ...others] = await Promise.all([0, 1, 2, 3].map(() => instance(t, url)))
    const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(first!.db)
    assert.deepEqual(ran.rows.map((row) => row.name), Object.keys(MIGRATIONS))
    const { build } = await first!.meta.insertBuild(sampleBuild('com.example.shared'))
    for (const other of others) assert.deepEqual(await other.meta.getBuild(build.id), build)
    const again = await instance(t, url)
    assert.deepEqual(await again.meta.getBuild(build.id), build)
  })

  it('stores sizes past 2^32 in bigint columns and reads them back as numbers', async (t) => {
    const { meta, db } = await instance(t, await (await sharedPostgres()).createDatabase())
    const size = 5 * 1024 ** 3 + 7
    const { build } = await meta.insertBuild(sampleBuild('com.example.big', { size }))
    assert.equal((await meta.getBuild(build.id))?.size, size)
    const types = await sql<{ data_type: string }>`select data_type from information_schema.columns where table_name = 'builds' and column_name = 'size'`.execute(db)
    assert.equal(types.rows[0]?.data_type, 'bigint')
    // count(*) is bigint too: a number, not pg's default string.
    assert.equal(await meta.countBuildsWithSha256(build.sha256), 1)
    const raw = await sql<{ n: unknown; big: unknown }>`select count(*) as n, 9007199254740993::int8 as big`.execute(db)
    assert.equal(raw.rows[0]?.n, 1)
    assert.equal(raw.rows[0]?.big, '9007199254740993', 'a bigint beyond 2^53 stays exact, as text')
  })

  it('records concurrent uploads of one new app from two instances as one app', async (t) => {
    const url = await (await sharedPostgres()).createDatabase()
    const [a, b] = [await instance(t, url), await instance(t, url)]
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).meta.insertBuild(sampleBuild('com.example.race', { build: String(i) }))))
    assert.equal(new Set(results.map((result) => result.app.id)).size, 1)
    const apps = await b.meta.listApps()
    assert.deepEqual(apps.map((app) => [app.bundleId, app.buildCount]), [['com.example.race', 16]])
  })

  it('keeps app and builds consistent when one instance deletes the last build while another uploads', async (t) => {
    const url = await (await sharedPostgres()).createDatabase()
    const [a, b] = [await instance(t, url), await instance(t, url)]
    for (let round = 0; round < 12; round++) {
      const bundleId = `com.example.churn${round}`
      const { build } = await a.meta.insertBuild(sampleBuild(bundleId))
      const [deleted, inserted] = await Promise.all([a.meta.deleteBuild(build.id), b.meta.insertBuild(sampleBuild(bundleId, { build: '2' }))])
      assert.equal(deleted?.id, build.id)
      const app = await a.meta.getAppByBundleId(bundleId)
      assert.ok(app, 'the app of the surviving build exists')
      assert.equal(inserted.build.appId, app.id)
      assert.equal((await a.meta.latestBuild(app.id))?.id, inserted.build.id)
    }
  })

  it('rolls a failed batch of migrations back completely (transactional DDL)', async (t) => {
    const db = new Kysely<Database>({ dialect: createPostgresDialect(await (await sharedPostgres()).createDatabase()) })
    t.after(() => db.destroy())
    await migrateToLatest(db, MIGRATIONS)
    const next = {
      '2099-01-01-0001-fine': { up: (trx: Kysely<unknown>) => sql`create table fine (x text)`.execute(trx).then(() => undefined) },
      '2099-01-01-0002-broken': { up: (trx: Kysely<unknown>) => sql`this is not sql`.execute(trx).then(() => undefined) },
    }
    await assert.rejects(migrateToLatest(db, { ...MIGRATIONS, ...next }), /^Error: database migration "2099-01-01-0002-broken" failed: syntax error/)
    const fine = await sql<{ n: number }>`select count(*) as n from information_schema.tables where table_name = 'fine'`.execute(db)
    assert.equal(fine.rows[0]?.n, 0)
  })

  it('fails with the connection error when the server is unreachable', async () => {
    const [port] = await freeLoopbackPorts(1)
    await assert.rejects(openDatabase(`postgres://airstrip@127.0.0.1:${port}/none`), /ECONNREFUSED/)
  })

  it('serialises blob-reference work across instances with an advisory lock', async (t) => {
    const url = await (await sharedPostgres()).createDatabase()
    const [a, b] = [await instance(t, url), await instance(t, url)]
    const events: string[] = []
    const section = (name: string) => async () => {
      events.push(`${name} in`)
      await new Promise((resolve) => setTimeout(resolve, 50))
      events.push(`${name} out`)
      return name
    }
    const results = await Promise.all([a.meta.withBlobReferencesLock(section('a1')), b.meta.withBlobReferencesLock(section('b1')), a.meta.withBlobReferencesLock(section('a2')), b.meta.withBlobReferencesLock(section('b2'))])
    assert.deepEqual(results, ['a1', 'b1', 'a2', 'b2'])
    for (let i = 0; i < events.length; i += 2) assert.equal(events[i]?.replace(' in', ''), events[i + 1]?.replace(' out', ''), `no overlap: ${events.join(', ')}`)
    // An error inside releases the lock.
    await assert.rejects(a.meta.withBlobReferencesLock(async () => { throw new Error('inside') }), /inside/)
    assert.equal(await b.meta.withBlobReferencesLock(async () => 'free again'), 'free again')
  })

  it('hands every instance the same shared secrets, created once', async (t) => {
    const url = await (await sharedPostgres()).createDatabase()
    const [a, b] = [await instance(t, url), await instance(t, url)]
    const keys = await Promise.all([a, b, a, b].map(({ db }, i) => sharedSecret(db, i % 2 ? 'url-signing' : 'notify-secret-box')))
    assert.equal(keys[0]?.length, 32)
    assert.ok(keys[0]?.equals(keys[2]!) && keys[1]?.equals(keys[3]!), 'one key per name across instances')
    assert.ok(!keys[0]?.equals(keys[1]!), 'names never share a key')
    assert.ok((await sharedSecret(b.db, 'url-signing')).equals(keys[1]!))
  })

  it('lets two instances claim each due notification delivery once', async (t) => {
    const url = await (await sharedPostgres()).createDatabase()
    const [a, b] = [await instance(t, url), await instance(t, url)]
    const now = new Date().toISOString()
    await a.db.insertInto('notification_events').values({ id: 'event', event_key: 'build.uploaded:x', type: 'build.uploaded', subject_id: 'x', bundle_id: null, payload: '{}', created_at: now }).execute()
    const ctx = { now: () => new Date(), newId }
    let claimedTwice = 0
    for (let round = 0; round < 10; round++) {
      const rows = Array.from({ length: 20 }, () => newId()).map((id) => ({
        id, event_id: 'event', channel: 'webhook', recipient: id, tester_id: null, webhook_id: null, idempotency_key: id, status: 'pending', attempts: 0,
        next_attempt_at: now, claim_id: null, locked_until: null, last_error: null, created_at: now, updated_at: now, delivered_at: null,
      }) as const)
      await a.db.insertInto('notification_deliveries').values(rows).execute()
      const claim = { leaseMs: 60_000, limit: 50, maxAttempts: 5 }
      const [first, second] = await Promise.all([claimDueDeliveries(a.db, ctx, claim), claimDueDeliveries(b.db, ctx, claim)])
      const mine = new Set(first.map((delivery) => delivery.id))
      claimedTwice += second.filter((delivery) => mine.has(delivery.id)).length
      assert.equal(new Set([...mine, ...second.map((delivery) => delivery.id)]).size, 20, 'every due delivery is claimed by one of them')
    }
    assert.equal(claimedTwice, 0, 'a delivery claimed by two instances is sent twice')
  })
})
