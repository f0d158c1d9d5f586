import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { newId } from '../../src/store/new-id.ts'
import { ADAPTERS, manualClock, sampleBuild } from './meta-store-adapters.ts'

for (const adapter of ADAPTERS) {
  describe(`MetaStore builds and apps (${adapter.name})`, () => {
    it('records a build and its app, and reads back exactly what was stored', async (t) => {
      const { meta } = await adapter.open(t)
      const input = sampleBuild('com.example.one', { notes: 'first', iconSha256: 'c'.repeat(64), chunkSha256s: ['1'.repeat(64), '2'.repeat(64)] })
      const { app, build } = await meta.insertBuild(input)
      assert.match(app.id, /^[A-Za-z0-9_-]{22}$/)
      assert.match(build.id, /^[A-Za-z0-9_-]{22}$/)
      assert.notEqual(app.id, build.id)
      assert.equal(build.appId, app.id)
      assert.deepEqual(await meta.getBuild(build.id), build)
      assert.deepEqual(build.info, input.info)
      assert.deepEqual(build.chunkSha256s, input.chunkSha256s)
      assert.deepEqual(await meta.getApp(app.id), app)
      assert.deepEqual(await meta.getAppByBundleId('com.example.one'), app)
      assert.equal(await meta.getBuild('nope'), null)
      assert.equal(await meta.getApp('nope'), null)
      assert.equal(await meta.getAppByBundleId('com.example.none'), null)
    })

    it('keeps one app per bundle id whose name follows the newest build', async (t) => {
      const clock = manualClock()
      const { meta } = await adapter.open(t, { now: clock.now })
      const first = await meta.insertBuild(sampleBuild('com.example.app', { name: 'Old Name' }))
      clock.tick()
      const second = await meta.insertBuild(sampleBuild('com.example.app', { name: 'New Name', version: '2.0' }))
      assert.equal(second.app.id, first.app.id)
      assert.equal(second.app.name, 'New Name')
      assert.equal(second.app.createdAt, first.app.createdAt)
      assert.equal(second.app.updatedAt, second.build.createdAt)
      // An import of an older build joins the app but does not rename it.
      const old = await meta.insertBuild(sampleBuild('com.example.app', { name: 'Ancient', createdAt: '2020-01-01T00:00:00Z' }))
      assert.equal(old.app.name, 'New Name')
      assert.equal(old.build.createdAt, '2020-01-01T00:00:00.000Z')
      const apps = await meta.listApps()
      assert.equal(apps.length, 1)
      assert.deepEqual(
        { name: apps[0]?.name, buildCount: apps[0]?.buildCount, latestBuildId: apps[0]?.latestBuildId, latestVersion: apps[0]?.latestVersion },
        { name: 'New Name', buildCount: 3, latestBuildId: second.build.id, latestVersion: '2.0' },
      )
      assert.equal((await meta.latestBuild(first.app.id))?.id, second.build.id)
    })

    it('rolls the whole insert back when the build cannot be inserted', async (t) => {
      const clock = manualClock()
      const queue: string[] = []
      const { meta } = await adapter.open(t, { now: clock.now, newId: () => queue.shift() ?? newId() })
      const seeded = await meta.insertBuild(sampleBuild('com.example.kept', { name: 'Kept' }))
      for (const bundleId of ['com.example.kept', 'com.example.fresh']) {
        clock.tick()
        // Ids are drawn app first, then build: this build id violates the primary key, after the app upsert ran.
        queue.push(newId(), seeded.build.id)
        await assert.rejects(meta.insertBuild(sampleBuild(bundleId, { name: 'Renamed' })))
      }
      const apps = await meta.listApps()
      assert.deepEqual(
        apps.map((a) => [a.bundleId, a.name, a.updatedAt, a.buildCount]),
        [['com.example.kept', 'Kept', seeded.app.updatedAt, 1]],
      )
      assert.equal(await meta.getAppByBundleId('com.example.fresh'), null)
      // The store is still usable afterwards (the transaction did not leak).
      assert.equal((await meta.insertBuild(sampleBuild('com.example.fresh'))).app.bundleId, 'com.example.fresh')
    })

    it('pages builds newest first with a stable keyset cursor, per app or overall', async (t) => {
      const clock = manualClock()
      const { meta } = await adapter.open(t, { now: clock.now })
      const inserted: string[] = []
      for (let i = 0; i < 7; i++) {
        // Builds 2–4 share one timestamp: the id breaks the tie, so no build is skipped or repeated.
        if (i !== 3 && i !== 4) clock.tick()
        inserted.push((await meta.insertBuild(sampleBuild(i % 2 === 0 ? 'com.example.even' : 'com.example.odd', { build: String(i) }))).build.id)
      }
      const walk = async (appId?: string): Promise<string[]> => {
        const seen: string[] = []
        let cursor: string | undefined
        for (let pages = 0; pages < 10; pages++) {
          const page = await meta.listBuilds({ appId, limit: 3, cursor })
          assert.ok(page.builds.length <= 3)
          seen.push(...page.builds.map((b) => b.id))
          if (!page.nextCursor) return seen
          cursor = page.nextCursor
        }
        throw new Error('pagination did not end')
      }
      const all = await walk()
      assert.equal(all.length, 7)
      assert.equal(new Set(all).size, 7)
      const byTime = await Promise.all(all.map(async (id) => (await meta.getBuild(id))?.createdAt ?? ''))
      assert.deepEqual(byTime, [...byTime].sort().reverse())
      assert.equal(all[0], inserted[6])
      assert.equal(all.at(-1), inserted[0])

      const even = await meta.getAppByBundleId('com.example.even')
      assert.ok(even)
      const evens = await walk(even.id)
      assert.deepEqual(new Set(evens), new Set([inserted[0], inserted[2], inserted[4], inserted[6]]))
      assert.deepEqual(evens, all.filter((id) => evens.includes(id)))

      const exact = await meta.listBuilds({ limit: 7 })
      assert.equal(exact.builds.length, 7)
      assert.equal(exact.nextCursor, null)
      assert.equal((await meta.listBuilds({ limit: 0 })).builds.length, 1)
      assert.deepEqual(await meta.listBuilds({ appId: 'nope', limit: 10 }), { builds: [], nextCursor: null })
    })

    it('refuses a cursor it did not issue', async (t) => {
      const { meta } = await adapter.open(t)
      for (const cursor of ['garbage!', 'bm90IGpzb24', Buffer.from('[1,2]').toString('base64url'), 'x'.repeat(300)]) {
        await assert.rejects(meta.listBuilds({ limit: 5, cursor }), (error) => isAirstripError(error, 'bad-request'))
      }
    })

    it('deletes a build, follows the app to its newest remaining build, and drops the app with its last build', async (t) => {
      const clock = manualClock()
      const { meta } = await adapter.open(t, { now: clock.now })
      const shared = { sha256: 'd'.repeat(64), iconSha256: 'e'.repeat(64) }
      const first = await meta.insertBuild(sampleBuild('com.example.del', { name: 'One', ...shared }))
      clock.tick()
      const second = await meta.insertBuild(sampleBuild('com.example.del', { name: 'Two', ...shared }))
      assert.equal(await meta.countBuildsWithSha256(shared.sha256), 2)
      assert.equal(await meta.countBuildsWithIconSha256(shared.iconSha256), 2)

      assert.deepEqual(await meta.deleteBuild(second.build.id), second.build)
      assert.equal(await meta.getBuild(second.build.id), null)
      assert.equal(await meta.deleteBuild(second.build.id), null)
      const app = await meta.getApp(first.app.id)
      assert.equal(app?.name, 'One')
      assert.equal(app?.updatedAt, first.build.createdAt)
      assert.equal(await meta.countBuildsWithSha256(shared.sha256), 1)
      assert.equal(await meta.countBuildsWithIconSha256(shared.iconSha256), 1)

      assert.deepEqual(await meta.deleteBuild(first.build.id), first.build)
      assert.equal(await meta.getApp(first.app.id), null)
      assert.equal(await meta.latestBuild(first.app.id), null)
      assert.deepEqual(await meta.listApps(), [])
      assert.equal(await meta.countBuildsWithSha256(shared.sha256), 0)
      assert.equal(await meta.countBuildsWithIconSha256(shared.iconSha256), 0)
      assert.equal(await meta.deleteBuild('missing'), null)
    })

    it('lists apps most recently built first with counts and newest build', async (t) => {
      const clock = manualClock()
      const { meta } = await adapter.open(t, { now: clock.now })
      const a1 = await meta.insertBuild(sampleBuild('com.example.a', { version: '1.0' }))
      clock.tick()
      const b1 = await meta.insertBuild(sampleBuild('com.example.b', { version: '5.0', build: '50' }))
      clock.tick()
      const a2 = await meta.insertBuild(sampleBuild('com.example.a', { version: '1.1', build: '2' }))
      const apps = await meta.listApps()
      assert.deepEqual(
        apps.map((a) => ({ id: a.id, buildCount: a.buildCount, latestBuildId: a.latestBuildId, latestVersion: a.latestVersion, latestBuild: a.latestBuild })),
        [
          { id: a1.app.id, buildCount: 2, latestBuildId: a2.build.id, latestVersion: '1.1', latestBuild: '2' },
          { id: b1.app.id, buildCount: 1, latestBuildId: b1.build.id, latestVersion: '5.0', latestBuild: '50' },
        ],
      )
    })

    it('refuses an invalid createdAt', async (t) => {
      const { meta } = await adapter.open(t)
      await assert.rejects(meta.insertBuild(sampleBuild('com.example.t', { createdAt: 'yesterday' })), (error) => isAirstripError(error, 'bad-request'))
      assert.deepEqual(await meta.listApps(), [])
    })
  })
}
