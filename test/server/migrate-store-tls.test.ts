// `airstrip migrate-store` carries the TLS state of a SQLite + data-dir installation into
// PostgreSQL (real PostgreSQL, real servers, real TLS handshakes): the PostgreSQL-backed server
// then presents a chain signed by the SAME development CA testers' devices already trust, and an
// ACME installation keeps its account and certificate.
import assert from 'node:assert/strict'
import { X509Certificate, generateKeyPairSync } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { connect, type PeerCertificate } from 'node:tls'
import { main } from '../../src/cli/main.ts'
import { openDatabase } from '../../src/store/database.ts'
import { openSharedAcmeState, openSharedDevCertificates } from '../../src/store/tls-records.ts'
import { createAcmeStore } from '../../src/tls/acme-store.ts'
import { generateCa, issueServerCertificate } from '../../src/tls/certificate-factory.ts'
import { normalizeHosts } from '../../src/tls/hosts.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { startServer, type TestServer } from '../support/server.ts'

const skip = postgresUnavailable() ?? false
/** Never contacted: the migrated certificate is far from due for renewal. */
const ACME_DIRECTORY = 'https://acme.invalid/directory'

async function migrate(dataDir: string, databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io = { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } }
  const code = await main(['migrate-store', '--data-dir', dataDir, '--database-url', databaseUrl], io, {})
  return { code, stdout, stderr }
}

/** The leaf a fresh handshake gets from `server`, trusting only `caPem` (as a tester's device would). */
function servedLeaf(server: TestServer, caPem: string, servername = 'localhost'): Promise<PeerCertificate> {
  const port = Number(new URL(server.url).port)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca: caPem }, () => {
      const peer = socket.getPeerCertificate()
      socket.destroy()
      resolve(peer)
    })
    socket.once('error', reject)
  })
}

describe('migrate-store carries TLS state into PostgreSQL', { skip }, () => {
  it('the dev CA and server certificate: the new server presents a chain signed by the same CA', async (t) => {
    const old = await startServer(t)
    const certs = join(old.dataDir, 'certs')
    const oldCaPem = readFileSync(join(certs, 'dev-ca.crt'), 'utf8')
    const oldCa = new X509Certificate(oldCaPem)
    const oldLeaf = await servedLeaf(old, oldCaPem)

    const databaseUrl = await (await sharedPostgres()).createDatabase()
    const run = await migrate(old.dataDir, databaseUrl)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, /TLS carried over \(read back and compared\): development CA, development server certificate\n/)

    // What the database holds is what the data dir held, keys included (sealed at rest).
    const db = await openDatabase(databaseUrl)
    try {
      const records = await openSharedDevCertificates(db)
      const ca = await records.read('ca')
      assert.equal(ca?.certPem, oldCaPem)
      assert.equal(ca?.keyPem, readFileSync(join(certs, 'dev-ca.key'), 'utf8'), 'the CA key too: the new server issues under the same CA')
      assert.equal((await records.read('server'))?.certPem, readFileSync(join(certs, 'server.crt'), 'utf8'))
      const stored = await db.selectFrom('tls_certificates').select(['name', 'key_sealed']).execute()
      assert.ok(stored.every((row) => !row.key_sealed.includes('PRIVATE KEY')), 'keys sealed, not PEM')
    } finally {
      await db.destroy()
    }

    const moved = await startServer(t, { databaseUrl })
    assert.deepEqual(moved.app.services.devCaDer, Buffer.from(oldCa.raw), 'the CA profile offered to devices is the old CA')
    const leaf = await servedLeaf(moved, oldCaPem)
    const movedLeaf = new X509Certificate(leaf.raw)
    assert.ok(movedLeaf.checkIssued(oldCa) && movedLeaf.verify(oldCa.publicKey), 'signed by the same CA')
    assert.equal(leaf.serialNumber, oldLeaf.serialNumber, 'the same server certificate (same hosts)')

    // A second instance on the database serves the same CA too.
    const another = await startServer(t, { databaseUrl })
    assert.ok(new X509Certificate((await servedLeaf(another, oldCaPem)).raw).verify(oldCa.publicKey))
  })

  it('the ACME account and certificate: read back equal, served by a PostgreSQL-backed --domain server; unknown folders reported', async (t) => {
    const old = await startServer(t)
    const certs = join(old.dataDir, 'certs')
    // An ACME installation's files, as the file store writes them, with a certificate from a test CA.
    const acmeCa = await generateCa('Test ACME CA', new Date())
    const issued = await issueServerCertificate(acmeCa, normalizeHosts(['localhost']), new Date())
    const accountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const files = createAcmeStore(certs, ACME_DIRECTORY)
    await files.writeAccountKey(accountKey)
    await files.writeAccountUrl('https://acme.invalid/acct/42')
    await files.writeCertificate('localhost', { certPem: issued.certPem, keyPem: issued.keyPem })
    // A folder no known directory maps to, and a domain folder with half a pair.
    mkdirSync(join(certs, 'acme', 'elsewhere-0123456789ab', 'example.com'), { recursive: true })
    mkdirSync(join(files.location, 'broken.example'), { recursive: true })
    writeFileSync(join(files.location, 'broken.example', 'cert.pem'), issued.certPem)

    const databaseUrl = await (await sharedPostgres()).createDatabase()
    const run = await migrate(old.dataDir, databaseUrl)
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stdout, new RegExp(`ACME account and certificate for localhost \\(${ACME_DIRECTORY.replace(/[./]/g, '\\$&')}\\)`))
    assert.match(run.stderr, /TLS not carried over: certs\/acme\/elsewhere-0123456789ab: no account\.json/)
    assert.match(run.stderr, /TLS not carried over: certs\/acme\/[^/]+\/broken\.example: no certificate with its key/)

    const db = await openDatabase(databaseUrl)
    try {
      const { store } = await openSharedAcmeState(db, ACME_DIRECTORY)
      assert.deepEqual(await store.readAccount(), { keyPem: accountKey, url: 'https://acme.invalid/acct/42' })
      const certificate = await store.readCertificate('localhost')
      assert.equal(certificate?.certPem, issued.certPem)
      assert.equal(certificate?.keyPem, issued.keyPem)
    } finally {
      await db.destroy()
    }

    const moved = await startServer(t, { databaseUrl, domain: 'localhost', acmeDirectory: ACME_DIRECTORY, httpPort: '0' })
    const leaf = await servedLeaf(moved, acmeCa.certPem)
    assert.equal(leaf.serialNumber, new X509Certificate(issued.certPem).serialNumber, 'the migrated certificate is served, nothing ordered')
  })

  it('a database that is not empty is refused and keeps no TLS state', async (t) => {
    const old = await startServer(t)
    const databaseUrl = await (await sharedPostgres()).createDatabase()
    assert.equal((await migrate(old.dataDir, databaseUrl)).code, 0)
    const db = await openDatabase(databaseUrl)
    try {
      await db.deleteFrom('tls_certificates').execute()
      const again = await migrate(old.dataDir, databaseUrl)
      assert.equal(again.code, 2)
      assert.match(again.stderr, /not empty/)
      assert.deepEqual(await db.selectFrom('tls_certificates').select('name').execute(), [], 'the refused run wrote no certificate')
    } finally {
      await db.destroy()
    }
  })
})
