import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { createSqlDeviceStore, type EnrolledDevice } from '../../src/store/devices.ts'
import { SAMPLE_UDIDS } from '../support/profiles.ts'
import { ADAPTERS, manualClock } from './meta-store-adapters.ts'

const DEVICE: EnrolledDevice = { udid: SAMPLE_UDIDS[1], reportedName: 'Jane’s iPhone', product: 'iPhone15,2', modelName: 'iPhone 14 Pro', family: 'iphone', osVersion: '22D63', serial: 'S1', signatureVerified: true, chainVerified: null }

for (const adapter of ADAPTERS) {
  describe(`DeviceStore (${adapter.name})`, () => {
    const open = async (t: Parameters<(typeof adapter)['open']>[0]) => {
      const clock = manualClock()
      const { db } = await adapter.open(t, { now: clock.now })
      return { store: createSqlDeviceStore(db, { now: clock.now }), db, clock }
    }
    const session = (n: number): string => String(n).repeat(32)
    const expires = (clock: { now: () => Date }): string => new Date(clock.now().getTime() + 15 * 60_000).toISOString()

    it('completes an enrolment once, even when two answers race', async (t) => {
      const { store, clock } = await open(t)
      assert.equal(await store.openEnrollment({ id: session(1), inviteId: null, challengeHash: 'aa'.repeat(32), expiresAt: expires(clock) }), 'opened')
      const results = await Promise.all([store.completeEnrollment(session(1), DEVICE), store.completeEnrollment(session(1), DEVICE)])
      assert.equal(results.filter((result) => result !== null).length, 1)
      const done = results.find((result) => result !== null)!
      assert.equal(done.firstTime, true)
      assert.equal(done.device.enrollments, 1)
      assert.equal((await store.getEnrollment(session(1)))?.deviceId, done.device.id)
      assert.equal(await store.openEnrollment({ id: session(1), inviteId: null, challengeHash: 'bb'.repeat(32), expiresAt: expires(clock) }), 'completed', 'a completed enrolment cannot be reopened')
    })

    it('a device enrolling again is refreshed, keeps its team name and tester, and counts enrolments', async (t) => {
      const { store, clock } = await open(t)
      const { invite } = await store.createInvite('Jane@Example.com')
      await store.openEnrollment({ id: session(1), inviteId: invite.id, challengeHash: 'aa'.repeat(32), expiresAt: expires(clock) })
      const first = (await store.completeEnrollment(session(1), DEVICE))!.device
      assert.equal(first.tester, 'jane@example.com')
      await store.updateDevice(first.id, { customName: 'QA phone' })
      const laterAt = clock.tick(60_000)
      await store.openEnrollment({ id: session(2), inviteId: null, challengeHash: 'aa'.repeat(32), expiresAt: expires(clock) })
      const again = (await store.completeEnrollment(session(2), { ...DEVICE, udid: DEVICE.udid, osVersion: '23A341', reportedName: 'Renamed on device' }))!
      assert.equal(again.firstTime, false)
      assert.equal(again.device.id, first.id)
      assert.equal(again.device.enrollments, 2)
      assert.equal(again.device.osVersion, '23A341')
      assert.equal(again.device.name, 'QA phone')
      assert.equal(again.device.reportedName, 'Renamed on device')
      assert.equal(again.device.tester, 'jane@example.com', 'an anonymous enrolment keeps the owner')
      assert.equal(again.device.firstSeenAt, first.firstSeenAt)
      assert.equal(again.device.lastSeenAt, laterAt)
      assert.equal((await store.listDevices()).length, 1)
    })

    it('stores only the hash of invite secrets and finds invites by secret', async (t) => {
      const { store, db } = await open(t)
      const { invite, token } = await store.createInvite('  Lab  team ')
      assert.equal(invite.tester, 'Lab team')
      assert.match(token, /^ei_[A-Za-z0-9_-]{43}$/)
      const rows = await db.selectFrom('device_invites').selectAll().execute()
      assert.equal(rows[0]?.token_hash, createHash('sha256').update(token).digest('hex'))
      assert.ok(!JSON.stringify(rows).includes(token.slice(3)))
      assert.equal((await store.findInviteByToken(token))?.id, invite.id)
      assert.equal(await store.findInviteByToken(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), null)
      assert.equal(await store.findInviteByToken('garbage'), null)
      assert.ok(await store.deleteInvite(invite.id))
      assert.equal(await store.findInviteByToken(token), null)
      await assert.rejects(store.createInvite(' '), (error: unknown) => isAirstripError(error, 'bad-request'))
    })

    it('prunes enrolments a day after they expired', async (t) => {
      const { store, clock } = await open(t)
      await store.openEnrollment({ id: session(1), inviteId: null, challengeHash: 'aa'.repeat(32), expiresAt: expires(clock) })
      clock.tick(25 * 60 * 60 * 1000)
      await store.openEnrollment({ id: session(2), inviteId: null, challengeHash: 'aa'.repeat(32), expiresAt: expires(clock) })
      assert.equal(await store.getEnrollment(session(1)), null)
      assert.notEqual(await store.getEnrollment(session(2)), null)
    })
  })
}
