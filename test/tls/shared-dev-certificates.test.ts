// The development CA kept in the database for instances sharing it (src/tls/shared-dev-certificates.ts),
// on every store adapter: one CA whoever starts first, reuse, reissue on host change, regeneration near expiry.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { describe, it } from 'node:test'
import { openSharedDevCertificates } from '../../src/store/tls-records.ts'
import { ensureSharedDevCertificates } from '../../src/tls/shared-dev-certificates.ts'
import { ADAPTERS } from '../store/meta-store-adapters.ts'

const DAY = 24 * 60 * 60 * 1000
const NOW = new Date('2026-03-01T12:00:00Z')

for (const adapter of ADAPTERS) {
  describe(`shared development CA (${adapter.name})`, () => {
    it('gives instances starting together one CA and one server certificate, then reuses them', async (t) => {
      const { db } = await adapter.open(t)
      const [a, b] = await Promise.all([
        openSharedDevCertificates(db).then((records) => ensureSharedDevCertificates(records, ['localhost', '127.0.0.1'], NOW)),
        openSharedDevCertificates(db).then((records) => ensureSharedDevCertificates(records, ['127.0.0.1', 'localhost'], NOW)),
      ])
      assert.equal(a.caCertPem, b.caCertPem, 'one CA')
      assert.equal(a.certPem, b.certPem, 'one server certificate')
      assert.equal([a.caCreated, b.caCreated].filter(Boolean).length, 1, 'exactly one instance made the CA')
      const leaf = new X509Certificate(a.certPem)
      const ca = new X509Certificate(a.caCertPem)
      assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
      assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(a.keyPem)))
      assert.deepEqual(Buffer.from(ca.raw), a.caCertDer)

      const again = await ensureSharedDevCertificates(await openSharedDevCertificates(db), ['localhost', '127.0.0.1'], new Date(NOW.getTime() + 100 * DAY))
      assert.deepEqual([again.created, again.caCreated, again.certPem], [false, false, a.certPem])
      const rows = await db.selectFrom('tls_certificates').select(['name', 'key_sealed']).where('scope', '=', 'dev').orderBy('name').execute()
      assert.deepEqual(rows.map((row) => row.name), ['ca', 'server'])
      for (const row of rows) assert.doesNotMatch(row.key_sealed, /PRIVATE KEY/)
    })

    it('reissues the server certificate for new hosts keeping the CA, and everything near the CA\'s expiry', async (t) => {
      const { db } = await adapter.open(t)
      const records = await openSharedDevCertificates(db)
      const first = await ensureSharedDevCertificates(records, ['localhost'], NOW)
      const moved = await ensureSharedDevCertificates(records, ['localhost', 'ota.example.lan'], NOW)
      assert.equal(moved.caCertPem, first.caCertPem, 'devices stay trusted')
      assert.notEqual(moved.certPem, first.certPem)
      assert.match(new X509Certificate(moved.certPem).subjectAltName ?? '', /DNS:ota\.example\.lan/)
      assert.equal((await records.read('server'))?.certPem, moved.certPem, 'stored for the other instances')

      const nearServerExpiry = await ensureSharedDevCertificates(records, ['localhost', 'ota.example.lan'], new Date(NOW.getTime() + 370 * DAY))
      assert.equal(nearServerExpiry.caCreated, false)
      assert.notEqual(nearServerExpiry.certPem, moved.certPem, 'server certificate renewed within 30 days of expiry')

      const nearCaExpiry = await ensureSharedDevCertificates(records, ['localhost'], new Date(NOW.getTime() + 3630 * DAY))
      assert.equal(nearCaExpiry.caCreated, true)
      assert.notEqual(nearCaExpiry.caCertPem, first.caCertPem)
      assert.equal((await records.read('ca'))?.certPem, nearCaExpiry.caCertPem)
    })
  })
}
