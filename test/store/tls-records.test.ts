// TLS state in the database (src/store/tls-records.ts), on every adapter: sealed keys, pairs that
// must match, compare-and-swap writes, expiring HTTP-01 answers, and the order lock.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import acme from 'acme-client'
import { createSqlCertificatePairs, createSqlAcmeStore, createSqlHttpChallenges, tlsKeyBox, withCertificateOrderLock } from '../../src/store/tls-records.ts'
import { generatePlaceholderCertificate } from '../../src/tls/acme-placeholder.ts'
import { ADAPTERS, manualClock } from './meta-store-adapters.ts'

const DIRECTORY = 'https://acme.example/dir'

for (const adapter of ADAPTERS) {
  describe(`TLS records (${adapter.name})`, () => {
    it('keeps the ACME account and certificate with sealed keys, per directory URL', async (t) => {
      const { db } = await adapter.open(t)
      const box = await tlsKeyBox(db)
      const store = createSqlAcmeStore(db, box, DIRECTORY)
      assert.equal(await store.readAccount(), null)
      assert.equal(await store.readCertificate('ota.example.com'), null)

      const accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
      await store.writeAccountKey(accountKey)
      assert.deepEqual(await store.readAccount(), { keyPem: accountKey, url: null })
      await store.writeAccountUrl('https://acme.example/acct/1')
      assert.deepEqual(await store.readAccount(), { keyPem: accountKey, url: 'https://acme.example/acct/1' })

      const first = await generatePlaceholderCertificate('ota.example.com', new Date())
      await store.writeCertificate('ota.example.com', first)
      assert.equal((await store.readCertificate('ota.example.com'))?.certPem, first.certPem)
      assert.equal((await store.readCertificate('ota.example.com'))?.keyPem, first.keyPem)
      const second = await generatePlaceholderCertificate('ota.example.com', new Date())
      await store.writeCertificate('ota.example.com', second)
      assert.equal((await store.readCertificate('ota.example.com'))?.certPem, second.certPem, 'a renewal replaces the row')

      // Another CA (staging vs production) sees neither.
      const staging = createSqlAcmeStore(db, box, 'https://staging.acme.example/dir')
      assert.equal(await staging.readAccount(), null)
      assert.equal(await staging.readCertificate('ota.example.com'), null)

      const rows = [...(await db.selectFrom('tls_acme_accounts').select('key_sealed').execute()), ...(await db.selectFrom('tls_certificates').select('key_sealed').execute())]
      assert.equal(rows.length, 2)
      for (const row of rows) assert.doesNotMatch(row.key_sealed, /PRIVATE KEY|-----BEGIN/)
      // Every instance on this database gets the same key box.
      assert.equal((await createSqlAcmeStore(db, await tlsKeyBox(db), DIRECTORY).readCertificate('ota.example.com'))?.certPem, second.certPem)
    })

    it('refuses a key moved onto another row, a mismatched pair, and an account key that does not open', async (t) => {
      const { db } = await adapter.open(t)
      const box = await tlsKeyBox(db)
      const store = createSqlAcmeStore(db, box, DIRECTORY)
      const a = await generatePlaceholderCertificate('a.example.com', new Date())
      const b = await generatePlaceholderCertificate('b.example.com', new Date())
      await store.writeCertificate('a.example.com', a)
      await store.writeCertificate('b.example.com', b)

      const sealedA = (await db.selectFrom('tls_certificates').select('key_sealed').where('name', '=', 'a.example.com').executeTakeFirstOrThrow()).key_sealed
      await db.updateTable('tls_certificates').set({ key_sealed: sealedA }).where('name', '=', 'b.example.com').execute()
      assert.equal(await store.readCertificate('b.example.com'), null, 'sealed for another row: does not open')

      await db.updateTable('tls_certificates').set({ cert_pem: b.certPem }).where('name', '=', 'a.example.com').execute()
      assert.equal(await store.readCertificate('a.example.com'), null, 'chain and key do not belong together')

      await store.writeAccountKey((await acme.crypto.createPrivateEcdsaKey('P-256')).toString())
      await db.updateTable('tls_acme_accounts').set({ key_sealed: sealedA }).execute()
      await assert.rejects(store.readAccount(), /cannot be opened/)
    })

    it('inserts a pair only once and replaces it only from the expected one', async (t) => {
      const { db } = await adapter.open(t)
      const pairs = createSqlCertificatePairs(db, await tlsKeyBox(db))
      const [one, two, three] = await Promise.all([1, 2, 3].map(() => generatePlaceholderCertificate('localhost', new Date())))
      assert.equal(await pairs.insertIfAbsent('dev', 'ca', one!), true)
      assert.equal(await pairs.insertIfAbsent('dev', 'ca', two!), false, 'the first instance wins')
      assert.equal((await pairs.read('dev', 'ca'))?.certPem, one!.certPem)
      assert.equal(await pairs.replace('dev', 'ca', two!.certPem, three!), false, 'replaced by someone else meanwhile')
      assert.equal(await pairs.replace('dev', 'ca', one!.certPem, three!), true)
      assert.equal((await pairs.read('dev', 'ca'))?.certPem, three!.certPem)
    })

    it('serves HTTP-01 answers until deleted or expired, and sweeps expired ones', async (t) => {
      const { db } = await adapter.open(t)
      const clock = manualClock()
      const answers = createSqlHttpChallenges(db, clock.now)
      const inAnHour = new Date(clock.now().getTime() + 3600_000)
      await answers.put('tok-1', 'tok-1.thumb', inAnHour)
      await answers.put('tok-2', 'tok-2.thumb', new Date(clock.now().getTime() + 1000))
      assert.equal(await answers.get('tok-1'), 'tok-1.thumb')
      assert.equal(await answers.get('tok-2'), 'tok-2.thumb')
      assert.equal(await answers.get('tok-3'), null)
      await answers.put('tok-1', 'tok-1.other', inAnHour)
      assert.equal(await answers.get('tok-1'), 'tok-1.other', 'a new order for the same token replaces the answer')
      clock.tick(1000)
      assert.equal(await answers.get('tok-2'), null, 'expired')
      await answers.put('tok-3', 'tok-3.thumb', inAnHour)
      assert.deepEqual((await db.selectFrom('tls_http_challenges').select('token').orderBy('token').execute()).map((r) => r.token), ['tok-1', 'tok-3'], 'swept on put')
      await answers.delete('tok-1')
      assert.equal(await answers.get('tok-1'), null)
    })

    it(adapter.name === 'postgres' ? 'lets one holder order at a time: others skip, or wait when asked to' : 'runs the order work as is (one instance)', async (t) => {
      const { db } = await adapter.open(t)
      if (adapter.name !== 'postgres') {
        assert.deepEqual(await withCertificateOrderLock(db, false, async () => 'done'), { value: 'done' })
        return
      }
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let entered!: () => void
      const inside = new Promise<void>((resolve) => (entered = resolve))
      const first = withCertificateOrderLock(db, false, async () => {
        entered()
        await held
        return 'first'
      })
      await inside
      assert.equal(await withCertificateOrderLock(db, false, async () => 'second'), null, 'taken: skipped without running')
      let waiterRan = false
      const waiter = withCertificateOrderLock(db, true, async () => {
        waiterRan = true
        return 'waited'
      })
      await sleep(200)
      assert.equal(waiterRan, false, 'a waiting caller does not run while the lock is held')
      release()
      assert.deepEqual(await first, { value: 'first' })
      assert.deepEqual(await waiter, { value: 'waited' })
      assert.deepEqual(await withCertificateOrderLock(db, false, async () => 'free again'), { value: 'free again' })
      await assert.rejects(withCertificateOrderLock(db, false, async () => { throw new Error('order failed') }), /order failed/)
      assert.deepEqual(await withCertificateOrderLock(db, false, async () => 'released after a failure'), { value: 'released after a failure' })
    })
  })
}
