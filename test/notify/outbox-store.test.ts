// The NotificationStore on a real SQLite file: who an event reaches (once each), idempotent
// enqueueing, claims and leases, giving up, listings; and the worker taking over a delivery whose
// holder died mid-send. Loops over test/store's adapters (SQLite, and PostgreSQL when available).
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { createOutboxWorker } from '../../src/notify/outbox-worker.ts'
import type { NewEvent } from '../../src/store/notification-records.ts'
import { createSqliteNotificationStore, type NotificationStore } from '../../src/store/notifications.ts'
import { ADAPTERS as STORE_ADAPTERS, manualClock } from '../store/meta-store-adapters.ts'
import { waitFor } from '../support/notify-peers.ts'

/** Every store adapter of test/store (SQLite always, PostgreSQL when available) with a notification store on it. */
const ADAPTERS = STORE_ADAPTERS.map((adapter) => ({
  name: adapter.name,
  async open(t: TestContext, now: () => Date): Promise<NotificationStore> {
    const { db } = await adapter.open(t)
    return createSqliteNotificationStore(db, { now })
  },
}))

const APP = 'com.example.app'
const seal = () => 'sealed'
const event = (overrides: Partial<NewEvent> = {}): NewEvent => ({
  type: 'build.created',
  subjectId: 'build-1',
  bundleId: APP,
  payload: { hello: 'world' },
  notifyTesters: true,
  testerChannels: { email: true, sms: true },
  webhooks: 'app',
  ...overrides,
})

for (const adapter of ADAPTERS) {
  test(`${adapter.name}: an event reaches each tester once per channel, and subscribed webhooks; a repeat is a no-op`, async (t) => {
    const clock = manualClock()
    const store = await adapter.open(t, clock.now)
    const jane = await store.createTester({ name: 'Jane', email: 'jane@example.test', phone: '+447700900123' })
    const bob = await store.createTester({ name: 'Bob', email: 'bob@example.test' })
    await store.createTester({ name: 'Not subscribed', email: 'zed@example.test' })
    const qa = await store.createGroup('QA')
    await store.setGroupMember(qa.id, jane.id, true)
    await store.setGroupMember(qa.id, bob.id, true)
    await store.updateAppNotificationSettings(APP, { testerIds: [jane.id], groupIds: [qa.id] })
    const hook = await store.createWebhook({ bundleId: APP, url: 'https://h.example/1', format: 'json', events: ['build.created'], sealSecret: seal })
    await store.createWebhook({ bundleId: APP, url: 'https://h.example/2', format: 'json', events: ['build.deleted'], sealSecret: seal })
    await store.createWebhook({ bundleId: 'com.other.app', url: 'https://h.example/3', format: 'json', events: ['build.created'], sealSecret: seal })

    const first = await store.enqueueEvent(event())
    assert.deepEqual({ created: first.created, deliveries: first.deliveries }, { created: true, deliveries: 4 })
    const listed = (await store.listDeliveries({ limit: 50 })).deliveries.map((d) => `${d.channel}:${d.recipient}`).sort()
    assert.deepEqual(listed, ['email:bob@example.test', 'email:jane@example.test', 'sms:+447700900123', `webhook:${hook.id}`])

    const again = await store.enqueueEvent(event({ payload: { different: true } }))
    assert.deepEqual(again, { eventId: first.eventId, created: false, deliveries: 4 })
    assert.equal((await store.listDeliveries({ limit: 50 })).deliveries.length, 4)

    assert.equal((await store.enqueueEvent(event({ subjectId: 'build-2', notifyTesters: 'app-default' }))).deliveries, 1, 'on-request app, not asked: webhooks only')
    await store.updateAppNotificationSettings(APP, { notifyOnUpload: 'always' })
    assert.equal((await store.enqueueEvent(event({ subjectId: 'build-3', notifyTesters: 'app-default', testerChannels: { email: true, sms: false } }))).deliveries, 3)
    assert.equal((await store.enqueueEvent(event({ subjectId: 'build-4', notifyTesters: false }))).deliveries, 1)
    const enrolled = await store.enqueueEvent(event({ type: 'device.enrolled', subjectId: 'device-1', bundleId: null, notifyTesters: false, webhooks: 'all-subscribed' }))
    assert.equal(enrolled.deliveries, 0, 'nobody subscribed to device.enrolled')

    // Deleting a tester removes their links; the next event no longer reaches them.
    assert.ok(await store.deleteTester(bob.id))
    assert.deepEqual((await store.getGroup('QA'))?.testerIds, [jane.id])
    assert.equal((await store.enqueueEvent(event({ subjectId: 'build-5' }))).deliveries, 3)
  })

  test(`${adapter.name}: claims never overlap, leases expire, a lost claim cannot record, no attempts left means failed`, async (t) => {
    const clock = manualClock()
    const store = await adapter.open(t, clock.now)
    await store.createWebhook({ bundleId: APP, url: 'https://h.example/1', format: 'json', events: ['build.created'], sealSecret: seal })
    for (let i = 0; i < 5; i++) await store.enqueueEvent(event({ subjectId: `build-${i}` }))

    const [a, b] = await Promise.all([
      store.claimDueDeliveries({ leaseMs: 60_000, limit: 3, maxAttempts: 2 }),
      store.claimDueDeliveries({ leaseMs: 60_000, limit: 3, maxAttempts: 2 }),
    ])
    assert.equal(a.length + b.length, 5)
    assert.equal(new Set([...a, ...b].map((d) => d.id)).size, 5, 'no delivery claimed twice')
    assert.ok([...a, ...b].every((d) => d.attempts === 1 && d.status === 'sending' && d.event.type === 'build.created'))
    assert.equal((await store.claimDueDeliveries({ leaseMs: 60_000, limit: 10, maxAttempts: 2 })).length, 0, 'held while leased')

    const [held] = a
    assert.ok(await store.completeDelivery(held!.id, held!.claimId))
    clock.tick(60_001)
    const retaken = await store.claimDueDeliveries({ leaseMs: 60_000, limit: 10, maxAttempts: 2 })
    assert.equal(retaken.length, 4, 'expired leases are taken again; the delivered one is not')
    assert.ok(retaken.every((d) => d.attempts === 2))
    const stale = b[0] ?? a[1]!
    assert.equal(await store.completeDelivery(stale.id, stale.claimId), false, 'the old claim cannot complete it')
    const next = retaken.find((d) => d.id === stale.id)!
    assert.ok(await store.failDelivery(next.id, next.claimId, { error: 'boom', retryAt: new Date(clock.now().getTime() + 1000) }))
    assert.equal((await store.getDelivery(next.id))?.status, 'pending')

    clock.tick(60_001)
    // Two attempts used: the pending one and the expired leases are failed, not claimed.
    assert.equal((await store.claimDueDeliveries({ leaseMs: 60_000, limit: 10, maxAttempts: 2 })).length, 0)
    const failed = (await store.listDeliveries({ status: 'failed', limit: 50 })).deliveries
    assert.equal(failed.length, 4)
    assert.ok(failed.every((d) => /no attempts left/.test(d.lastError ?? '')))
    assert.equal((await store.retryDelivery(failed[0]!.id))?.status, 'pending')
    await assert.rejects(store.retryDelivery(held!.id), (e) => isAirstripError(e, 'bad-request'))
    assert.equal(await store.retryDelivery('nope'), null)
  })

  test(`${adapter.name}: deliveries list newest first with filters and a cursor`, async (t) => {
    const clock = manualClock()
    const store = await adapter.open(t, clock.now)
    const tester = await store.createTester({ name: 'T', email: 't@example.test', phone: '+15551234567' })
    await store.updateAppNotificationSettings(APP, { testerIds: [tester.id] })
    for (let i = 0; i < 5; i++) {
      clock.tick()
      await store.enqueueEvent(event({ subjectId: `build-${i}` }))
    }
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.listDeliveries({ channel: 'email', limit: 2, cursor })
      seen.push(...page.deliveries.map((d) => d.subjectId))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    assert.deepEqual(seen, ['build-4', 'build-3', 'build-2', 'build-1', 'build-0'])
    assert.equal((await store.listDeliveries({ subjectId: 'build-2', limit: 50 })).deliveries.length, 2)
    assert.equal((await store.listDeliveries({ bundleId: 'com.other', limit: 50 })).deliveries.length, 0)
    await assert.rejects(store.listDeliveries({ limit: 5, cursor: 'garbage' }), (e) => isAirstripError(e, 'bad-request'))
  })
}

test('the worker takes over a delivery whose holder stopped mid-send, once its lease runs out', async (t) => {
  const store = await ADAPTERS[0]!.open(t, () => new Date())
  await store.createWebhook({ bundleId: APP, url: 'https://h.example/1', format: 'json', events: ['build.created'], sealSecret: seal })
  await store.enqueueEvent(event())
  const warnings: string[] = []
  const log = { info() {}, warn: (_context: object, message: string) => void warnings.push(message), error() {} }
  const retry = { maxAttempts: 5, baseMs: 10, maxMs: 10 }

  // The first worker claims and then hangs forever in the send (as if the process froze).
  let hung: (() => void) | null = null
  const stuck = createOutboxWorker({ store, log, retry, now: () => new Date(), leaseMs: 300, stopGraceMs: 10, dispatch: () => new Promise<void>((resolve) => (hung = resolve)) })
  stuck.start()
  await waitFor(() => hung, 'the first claim')
  await stuck.stop()

  const sent: string[] = []
  const rescuer = createOutboxWorker({ store, log, retry, now: () => new Date(), idlePollMs: 50, dispatch: async (delivery) => void sent.push(`${delivery.id}#${delivery.attempts}`) })
  rescuer.start()
  t.after(() => rescuer.stop())
  const [delivery] = (await store.listDeliveries({ limit: 1 })).deliveries
  await waitFor(async () => (await store.getDelivery(delivery!.id))?.status === 'delivered', 'the rescue')
  assert.deepEqual(sent, [`${delivery!.id}#2`], 'sent once more, counted as the second attempt')
  hung!()
  await waitFor(() => warnings.some((message) => /outcome not recorded: the claim had expired/.test(message)), "the frozen worker's late outcome")
  const final = await store.getDelivery(delivery!.id)
  assert.equal(final?.status, 'delivered', "the frozen worker's late outcome does not overwrite")
  assert.equal(final?.attempts, 2)
})
