// Two Airstrip instances with --domain sharing one PostgreSQL, against Debian's pebble: the
// certificate is ordered once, by one instance, while pebble validates HTTP-01 against the OTHER
// one (its httpPort/tlsPort point at instance B); both serve the same chain; a renewal by one is
// picked up by the other without a restart; nothing of it is on disk, and no key is stored in clear.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'node:tls'
import pg from 'pg'
import { createApp, type App } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { tempDir } from '../support/fixtures.ts'
import { PEBBLE_BINARY, startPebble } from '../support/pebble.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { startServer } from '../support/server.ts'

/** The advisory-lock key pair instances take to order (src/store/tls-records.ts: "AIRS", "ACME"). */
const ORDER_LOCK = '1095324243, 1094929733'
const POLL_MS = 250

interface Instance {
  app: App
  httpsPort: number
  httpPort: number
  dataDir: string
}

async function startInstance(t: { after(fn: () => unknown): void }, databaseUrl: string, pebble: { directoryUrl: string; wfeCaPath: string }, httpsPort: number, httpPort: number, name: string): Promise<Instance> {
  const dataDir = tempDir(t, `airstrip-shared-tls-${name}-`)
  const config = loadConfig({
    host: '127.0.0.1',
    port: String(httpsPort),
    httpPort: String(httpPort),
    dataDir,
    domain: 'localhost',
    acmeDirectory: pebble.directoryUrl,
    acmeCaRoot: pebble.wfeCaPath,
    acmeEmail: 'ops@example.com',
    databaseUrl,
    logLevel: 'silent',
    minFreeDisk: '1',
  })
  const app = await createApp(config, { tlsPollIntervalMs: POLL_MS })
  await app.server.listen({ host: config.host, port: config.port })
  t.after(() => app.close())
  return { app, httpsPort, httpPort, dataDir }
}

/** Serial and DER chain of what a fresh handshake gets, verified against `ca` for "localhost". */
function served(port: number, ca: string): Promise<{ serial: string; chain: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      const chain: string[] = []
      let peer = socket.getPeerCertificate(true)
      const serial = peer.serialNumber
      while (peer && !chain.includes(peer.raw.toString('base64'))) {
        chain.push(peer.raw.toString('base64'))
        peer = peer.issuerCertificate
      }
      socket.end()
      resolve({ serial, chain })
    })
    socket.on('error', reject)
  })
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
      .on('error', reject)
      .end()
  })
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = join(prefix, entry.name)
    return entry.isDirectory() ? filesUnder(dir, path) : [path]
  })
}

const skip = postgresUnavailable() ?? (existsSync(PEBBLE_BINARY) ? false : `pebble not installed (${PEBBLE_BINARY}; apt-get install pebble): shared TLS test skipped`)

describe('instances sharing PostgreSQL: automatic HTTPS', { skip }, () => {
  it('orders once, answers HTTP-01 from the other instance, serves one chain everywhere, and spreads renewals', { timeout: 60_000 }, async (t) => {
    const databaseUrl = await (await sharedPostgres()).createDatabase()
    const [httpsA, httpA, httpsB, httpB] = (await freeLoopbackPorts(4)) as [number, number, number, number]
    // The "load balancer" sends every validation to instance B, whichever instance ordered.
    const pebble = await startPebble(t, { httpPort: httpB, tlsPort: httpsB })

    // Hold the order lock while both start: each tries, finds it taken and skips.
    const holder = new pg.Client({ connectionString: databaseUrl })
    await holder.connect()
    t.after(() => holder.end())
    await holder.query(`select pg_advisory_lock(${ORDER_LOCK})`)
    const a = await startInstance(t, databaseUrl, pebble, httpsA, httpA, 'a')
    const b = await startInstance(t, databaseUrl, pebble, httpsB, httpB, 'b')
    const tlsOf = (instance: Instance) => instance.app.services.ops.tls.state()
    await until('both instances to find the lock taken', () => tlsOf(a).renewal?.lastAttemptAt != null && tlsOf(b).renewal?.lastAttemptAt != null)
    assert.equal(tlsOf(a).certificate?.source, 'placeholder')
    assert.equal(tlsOf(b).certificate?.source, 'placeholder')

    // A asks to order and queues on the lock; once released it is A's, and B keeps skipping.
    const ordered = a.app.services.ops.acme!.renewNow()
    await until('A to wait for the lock', async () => (await holder.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)).rows[0].n === 1)
    await holder.query(`select pg_advisory_unlock(${ORDER_LOCK})`)
    assert.equal(await ordered, true, `A ordered a certificate: ${JSON.stringify(tlsOf(a).renewal)}\n${pebble.output()}`)
    await until('B to serve the certificate A ordered', () => tlsOf(b).certificate?.source === 'acme')

    const root = await pebble.rootPem()
    const [fromA, fromB] = await Promise.all([served(httpsA, root), served(httpsB, root)])
    assert.equal(fromB.serial, fromA.serial, 'both instances serve the same certificate')
    assert.deepEqual(fromB.chain, fromA.chain, 'and the same chain, verifying against pebble\'s root')
    assert.ok(fromA.chain.length >= 2, 'the full chain is sent')
    assert.ok(tlsOf(a).renewal?.lastSuccessAt, 'A ordered')
    assert.equal(tlsOf(b).renewal?.lastSuccessAt, null, 'B never ordered')

    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    t.after(() => db.end())
    const count = async (table: string): Promise<number> => (await db.query(`select count(*)::int as n from ${table}`)).rows[0].n
    assert.equal(await count('tls_certificates'), 1, 'one certificate row')
    assert.equal(await count('tls_acme_accounts'), 1, 'one ACME account')
    assert.equal(await count('tls_http_challenges'), 0, 'challenge answers are removed once the order is done')
    // pebble's log has one "Issued certificate" line per certificate it signs.
    assert.equal(pebble.output().match(/Issued certificate/gi)?.length ?? 0, 1, pebble.output())

    // An answer one instance puts up is served by the other's plain-HTTP port, until removed.
    await a.app.services.ops.acme!.challenges.setHttp('shared_Token-1', 'shared_Token-1.thumbprint')
    assert.deepEqual(await httpGet(`http://127.0.0.1:${httpB}/.well-known/acme-challenge/shared_Token-1`), { status: 200, body: 'shared_Token-1.thumbprint' })
    await a.app.services.ops.acme!.challenges.deleteHttp('shared_Token-1')
    assert.equal((await httpGet(`http://127.0.0.1:${httpB}/.well-known/acme-challenge/shared_Token-1`)).status, 404)

    // A renews (pebble validates at B again); B swaps the new certificate in without a restart.
    assert.equal(await a.app.services.ops.acme!.renewNow(), true)
    const renewedA = await served(httpsA, root)
    assert.notEqual(renewedA.serial, fromA.serial)
    await until('B to serve the renewed certificate', async () => (await served(httpsB, root)).serial === renewedA.serial)
    assert.equal(pebble.output().match(/Issued certificate/gi)?.length ?? 0, 2)
    assert.equal(await count('tls_certificates'), 1)
    assert.equal(tlsOf(b).renewal?.lastSuccessAt, null, 'B still never ordered')

    // Nothing of it on either instance's disk: no ACME folder, no PEM anywhere in the data dirs.
    for (const instance of [a, b]) {
      assert.equal(existsSync(join(instance.dataDir, 'certs')), false, `no certs folder in ${instance.dataDir}`)
      for (const file of filesUnder(instance.dataDir)) {
        const path = join(instance.dataDir, file)
        if (statSync(path).size < 1024 * 1024) assert.doesNotMatch(readFileSync(path, 'latin1'), /-----BEGIN/, path)
      }
    }
    // Keys in the database are sealed, never PEM; certificates are plain chains.
    const rows = [
      ...(await db.query('select key_sealed from tls_acme_accounts')).rows,
      ...(await db.query('select key_sealed, cert_pem from tls_certificates')).rows,
    ] as Array<{ key_sealed: string; cert_pem?: string }>
    for (const row of rows) {
      assert.doesNotMatch(row.key_sealed, /PRIVATE KEY|-----BEGIN/)
      assert.match(row.key_sealed, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
      if (row.cert_pem) assert.match(row.cert_pem, /^-----BEGIN CERTIFICATE-----/)
    }
    const dump = JSON.stringify((await db.query(`select * from tls_acme_accounts, tls_certificates`)).rows)
    assert.doesNotMatch(dump, /PRIVATE KEY/)
  })
})

describe('instances sharing PostgreSQL: the development CA', { skip: postgresUnavailable() ?? false }, () => {
  it('every instance presents a chain from the same CA, kept in the database, not the data dirs', { timeout: 60_000 }, async (t) => {
    const databaseUrl = await (await sharedPostgres()).createDatabase()
    const [a, b] = await Promise.all([startServer(t, { databaseUrl }), startServer(t, { databaseUrl })])
    assert.ok(a.app.services.devCaDer && b.app.services.devCaDer)
    assert.deepEqual(b.app.services.devCaDer, a.app.services.devCaDer, 'one CA: a device that trusts it trusts every instance')
    const caPem = new X509Certificate(a.app.services.devCaDer).toString()
    for (const server of [a, b]) {
      const port = Number(new URL(server.url).port)
      // Both verify against the CA instance A hands out on its CA-profile page.
      const peer = await served(port, caPem)
      assert.ok(peer.chain.length >= 1)
      assert.equal((await server.request(`${server.url}/healthz`)).status, 200)
      assert.equal(existsSync(join(server.dataDir, 'certs')), false, 'nothing in the data dir')
    }
  })
})
