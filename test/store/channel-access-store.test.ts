// Channels, grants and install analytics: the same assertions on every MetaStore adapter.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { Kysely, sql } from 'kysely'
import { isAirstripError } from '../../src/errors.ts'
import { createSqlAccessStore } from '../../src/store/access.ts'
import { createSqlAnalyticsStore } from '../../src/store/analytics.ts'
import { createSqlChannelStore } from '../../src/store/channels.ts'
import { MIGRATIONS, migrateToLatest, type Database } from '../../src/store/database.ts'
import { createSqliteNotificationStore } from '../../src/store/notifications.ts'
import { createSqliteDialect } from '../../src/store/sqlite-dialect.ts'
import { ADAPTERS, manualClock, sampleBuild, type StoreAdapter } from './meta-store-adapters.ts'

for (const adapter of ADAPTERS) {
  describe(`channels, access and analytics stores (${adapter.name})`, () => {
    const open = async (t: Parameters<StoreAdapter['open']>[0]) => {
      const clock = manualClock()
      const { meta, db } = await adapter.open(t, { now: clock.now })
      const options = { now: clock.now }
      return {
        meta, db, clock,
        channels: createSqlChannelStore(db, options),
        access: createSqlAccessStore(db, options),
        analytics: createSqlAnalyticsStore(db, options),
        testers: createSqliteNotificationStore(db, options),
      }
    }

    it('puts builds in "main" unless told otherwise, and lists channels with counts and newest build', async (t) => {
      const { meta, channels, clock } = await open(t)
      const first = await meta.insertBuild(sampleBuild('com.example.ch'))
      clock.tick()
      const beta1 = await meta.insertBuild(sampleBuild('com.example.ch', { channel: 'beta', version: '2.0' }))
      clock.tick()
      const beta2 = await meta.insertBuild(sampleBuild('com.example.ch', { channel: 'beta', version: '2.1' }))
      assert.equal(first.build.channel, 'main')
      assert.equal(first.build.keep, false)
      assert.equal(beta2.build.channel, 'beta')
      assert.deepEqual(await meta.getBuild(beta2.build.id), beta2.build)
      const list = await channels.listChannels('com.example.ch')
      assert.deepEqual(list.map((c) => [c.name, c.buildCount, c.latestBuildId, c.access]), [['beta', 2, beta2.build.id, 'inherit'], ['main', 1, first.build.id, 'inherit']])
      assert.deepEqual((await channels.listChannelBuilds('com.example.ch', 'beta', 10)).map((b) => b.id), [beta2.build.id, beta1.build.id])
      assert.deepEqual(await channels.listChannels('com.example.none'), [])

      const moved = await channels.moveBuild(beta1.build.id, 'nightly')
      assert.equal(moved?.channel, 'nightly')
      assert.equal((await channels.getChannel('com.example.ch', 'nightly'))?.buildCount, 1)
      assert.equal(await channels.moveBuild('nope', 'beta'), null)
      assert.equal((await channels.setBuildKeep(first.build.id, true))?.keep, true)
      assert.equal((await meta.getBuild(first.build.id))?.keep, true)
      assert.equal(await channels.setBuildKeep('nope', true), null)
    })

    it('keeps access and retention settings per channel, and resolves the mode that applies', async (t) => {
      const { meta, channels } = await open(t)
      await meta.insertBuild(sampleBuild('com.example.acc'))
      assert.equal(await channels.getAppAccess('com.example.acc'), 'public')
      assert.deepEqual(await channels.effectivePolicy('com.example.acc', 'main'), { mode: 'public', source: { bundleId: 'com.example.acc', channel: null } })
      await channels.setAppAccess('com.example.acc', 'password')
      assert.deepEqual(await channels.effectivePolicy('com.example.acc', 'main'), { mode: 'password', source: { bundleId: 'com.example.acc', channel: null } })
      // A setting may name a channel before any build does.
      const beta = await channels.updateChannel('com.example.acc', 'beta', { access: 'invite', retention: { keepLast: 3 } })
      assert.deepEqual([beta.access, beta.retention, beta.buildCount], ['invite', { keepLast: 3, maxAgeDays: null }, 0])
      assert.deepEqual(await channels.effectivePolicy('com.example.acc', 'beta'), { mode: 'invite', source: { bundleId: 'com.example.acc', channel: 'beta' } })
      const changed = await channels.updateChannel('com.example.acc', 'beta', { retention: { maxAgeDays: 30 } })
      assert.deepEqual(changed.retention, { keepLast: 3, maxAgeDays: 30 }, 'a patch changes only what it names')
      await assert.rejects(channels.updateChannel('com.example.acc', 'beta', { retention: { keepLast: 0 } }), (e) => isAirstripError(e, 'bad-request'))
      assert.deepEqual((await channels.listChannelsWithRetention()).map((c) => c.name), ['beta'])
      await assert.rejects(channels.deleteChannel('com.example.acc', 'main'), (e) => isAirstripError(e, 'channel-not-empty'))
      assert.equal(await channels.deleteChannel('com.example.acc', 'beta'), true)
      assert.equal(await channels.deleteChannel('com.example.acc', 'beta'), false)
    })

    it('invites, revokes and forgets grants; a deleted tester takes their links along', async (t) => {
      const { access, testers, clock } = await open(t)
      const jane = await testers.createTester({ name: 'Jane', email: 'jane@example.com' })
      const joe = await testers.createTester({ name: 'Joe', email: 'joe@example.com' })
      const scope = { bundleId: 'com.example.inv', channel: 'beta' }
      await assert.rejects(access.createInvite({ scope, testerId: 'nobody' }), (e) => isAirstripError(e, 'tester-not-found'))
      const invite = await access.createInvite({ scope, testerId: jane.id })
      assert.match(invite.secret, /^[A-Za-z0-9_-]{43}$/)
      assert.deepEqual(invite.grant.tester, { id: jane.id, name: 'Jane', email: 'jane@example.com' })
      assert.equal((await access.findInvite(invite.secret))?.id, invite.grant.id)
      assert.equal(await access.findInvite(invite.secret.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))), null)
      assert.equal(await access.findInvite('short'), null)

      clock.tick()
      assert.equal(await access.revokeGrant(invite.grant.id), true)
      assert.equal(await access.revokeGrant(invite.grant.id), false)
      assert.equal((await access.getGrant(invite.grant.id))?.revokedAt, clock.now().toISOString())

      const second = await access.createInvite({ scope: { bundleId: 'com.example.inv', channel: null }, testerId: jane.id })
      const third = await access.createInvite({ scope, testerId: jane.id })
      const joes = await access.createInvite({ scope, testerId: joe.id })
      assert.equal(await access.revokeTesterGrants('com.example.inv', jane.id), 2)
      assert.equal((await access.getGrant(second.grant.id))?.revokedAt !== null, true)
      assert.equal((await access.getGrant(third.grant.id))?.revokedAt !== null, true)
      assert.equal((await access.getGrant(joes.grant.id))?.revokedAt, null)
      assert.deepEqual((await access.listGrants({ bundleId: 'com.example.inv', testerId: joe.id })).map((g) => g.id), [joes.grant.id])

      await testers.deleteTester(joe.id)
      assert.equal(await access.getGrant(joes.grant.id), null, 'ON DELETE CASCADE')
      assert.equal(await access.findInvite(joes.secret), null)
    })

    it('keeps one live password grant per scope', async (t) => {
      const { access } = await open(t)
      const app = { bundleId: 'com.example.pw', channel: null }
      const beta = { bundleId: 'com.example.pw', channel: 'beta' }
      const first = await access.setPassword(app, '$argon2id$first')
      await access.setPassword(beta, '$argon2id$beta')
      const second = await access.setPassword(app, '$argon2id$second')
      assert.equal((await access.getGrant(first.id))?.revokedAt !== null, true)
      assert.deepEqual(await access.passwordGrant(app).then((p) => [p?.grant.id, p?.passwordHash]), [second.id, '$argon2id$second'])
      assert.equal((await access.passwordGrant(beta))?.passwordHash, '$argon2id$beta')
      assert.equal(await access.clearPassword(app), 1)
      assert.equal(await access.passwordGrant(app), null)
      assert.notEqual(await access.passwordGrant(beta), null, 'another scope is untouched')
    })

    it('counts events per build and tester, and completes a download once, whatever the pieces', async (t) => {
      const { analytics, testers } = await open(t)
      const jane = await testers.createTester({ name: 'Jane', email: 'jane@example.com' })
      const actor = { buildId: 'b1', bundleId: 'com.example.an', testerId: jane.id, grantId: 'g1' }
      const anonymous = { buildId: 'b2', bundleId: 'com.example.an', testerId: null, grantId: null }
      await analytics.recordEvent(actor, 'page-view')
      await analytics.recordEvent(actor, 'page-view')
      await analytics.recordEvent(actor, 'manifest')
      await analytics.recordEvent(anonymous, 'page-view')

      const size = 1000
      const first = await analytics.recordDownload('s1', actor, size, { start: 0, end: 400 })
      assert.deepEqual(first, { started: true, completed: false, coveredBytes: 400 })
      assert.deepEqual(await analytics.recordDownload('s1', actor, size, { start: 300, end: 600 }), { started: false, completed: false, coveredBytes: 600 })
      assert.deepEqual(await analytics.recordDownload('s1', actor, size, { start: 800, end: 1000 }), { started: false, completed: false, coveredBytes: 800 })
      assert.deepEqual(await analytics.recordDownload('s1', actor, size, { start: 600, end: 800 }), { started: false, completed: true, coveredBytes: 1000 })
      assert.deepEqual(await analytics.recordDownload('s1', actor, size, { start: 0, end: 1000 }), { started: false, completed: false, coveredBytes: 1000 }, 'completed once')
      // Two halves sent at the same time: one of them completes it, never both.
      await analytics.recordDownload('s2', anonymous, size, null)
      const halves = await Promise.all([analytics.recordDownload('s2', anonymous, size, { start: 0, end: 500 }), analytics.recordDownload('s2', anonymous, size, { start: 500, end: 1000 })])
      assert.equal(halves.filter((h) => h.completed).length, 1)
      assert.equal(halves.filter((h) => h.started).length, 0)

      const b1 = await analytics.buildCounts('b1')
      assert.deepEqual(b1.totals, { pageViews: 2, manifestFetches: 1, downloadsStarted: 1, downloadsCompleted: 1 })
      assert.deepEqual(b1.testers, [{ testerId: jane.id, name: 'Jane', email: 'jane@example.com', pageViews: 2, manifestFetches: 1, downloadsStarted: 1, downloadsCompleted: 1 }])
      const app = await analytics.appCounts('com.example.an')
      assert.deepEqual(app.totals, { pageViews: 3, manifestFetches: 1, downloadsStarted: 2, downloadsCompleted: 2 })
      assert.deepEqual(app.builds.map((b) => [b.buildId, b.pageViews, b.downloadsCompleted]), [['b1', 2, 1], ['b2', 1, 1]])
      assert.deepEqual(app.testers.map((x) => x.testerId), [jane.id], 'anonymous visitors are counted in totals, not as a tester')
    })
  })
}

describe('migration 2026-11-26-0006 (sqlite)', () => {
  it('moves existing builds into "main" and gives each app its "main" channel', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'airstrip-mig-'))
    const db = new Kysely<Database>({ dialect: createSqliteDialect(join(dir, 'airstrip.db')) })
    t.after(async () => {
      await db.destroy()
      await rm(dir, { recursive: true, force: true })
    })
    const before = Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < '2026-11-26-0006'))
    await migrateToLatest(db, before)
    await sql`insert into apps (id, bundle_id, name, created_at, updated_at) values ('a1', 'com.example.old', 'Old', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z')`.execute(db)
    for (const [id, at] of [['b1', '2026-01-01T00:00:00.000Z'], ['b2', '2026-01-02T00:00:00.000Z']]) {
      await sql`insert into builds (id, app_id, bundle_id, name, size, sha256, chunk_size, chunk_sha256s, created_at, info) values (${id}, 'a1', 'com.example.old', 'Old', 1, ${'a'.repeat(64)}, 1, '[]', ${at}, '{}')`.execute(db)
    }
    await migrateToLatest(db, MIGRATIONS)
    const builds = await db.selectFrom('builds').select(['id', 'channel', 'keep']).orderBy('id').execute()
    assert.deepEqual(builds.map((b) => ({ ...b })), [{ id: 'b1', channel: 'main', keep: 0 }, { id: 'b2', channel: 'main', keep: 0 }])
    const channels = await createSqlChannelStore(db).listChannels('com.example.old')
    assert.deepEqual(channels.map((c) => [c.name, c.access, c.buildCount, c.latestBuildId, c.createdAt]), [['main', 'inherit', 2, 'b2', '2026-01-01T00:00:00.000Z']])
  })
})
