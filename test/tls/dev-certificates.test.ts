import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { DEV_CERT_FILES, ensureDevCertificates } from '../../src/tls/dev-certificates.ts'
import { tempDir } from '../support/fixtures.ts'

const DAY = 24 * 60 * 60 * 1000
const NOW = new Date('2026-03-01T12:00:00Z')
const HOSTS = ['localhost', '127.0.0.1', '::1', 'Airstrip.Example.LAN.']

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** notBefore/notAfter as openssl reads them (ISO 8601 output, OpenSSL ≥ 3.0). */
function opensslDates(certPath: string): { notBefore: Date; notAfter: Date } {
  const out = openssl('x509', '-in', certPath, '-noout', '-dates', '-dateopt', 'iso_8601')
  const field = (name: string): Date => {
    const match = new RegExp(`${name}=(.+)`).exec(out)
    assert.ok(match?.[1], `${name} in ${out}`)
    return new Date(match[1].trim().replace(' ', 'T'))
  }
  return { notBefore: field('notBefore'), notAfter: field('notAfter') }
}

function mode(path: string): number {
  return statSync(path).mode & 0o777
}

describe('ensureDevCertificates: what openssl sees', () => {
  test('server certificate chains to the CA and meets the iOS rules', async (t) => {
    const dir = tempDir(t)
    const result = await ensureDevCertificates(dir, HOSTS, NOW)
    assert.equal(result.created, true)
    assert.equal(result.caCreated, true)
    const ca = join(dir, DEV_CERT_FILES.caCert)
    const server = join(dir, DEV_CERT_FILES.cert)
    assert.equal(openssl('verify', '-CAfile', ca, server).trim(), `${server}: OK`)
    assert.equal(readFileSync(server, 'utf8'), result.certPem)
    assert.equal(readFileSync(ca, 'utf8'), result.caCertPem)
    assert.deepEqual(result.caCertDer, execFileSync('openssl', ['x509', '-in', ca, '-outform', 'DER']))

    const text = openssl('x509', '-in', server, '-noout', '-text')
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/)
    assert.match(text, /Public-Key: \(2048 bit\)/)
    assert.match(text, /Issuer: O = Airstrip, CN = Airstrip Development CA \(.+\)/)
    assert.match(text, /X509v3 Extended Key Usage: *\n\s+TLS Web Server Authentication\n/)
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/)
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/)
    const san = /X509v3 Subject Alternative Name: *\n\s+(.+)\n/.exec(text)?.[1] ?? ''
    assert.deepEqual(san.split(', ').sort(), [
      'DNS:airstrip.example.lan',
      'DNS:localhost',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:127.0.0.1',
    ])
    const { notBefore, notAfter } = opensslDates(server)
    const days = (notAfter.getTime() - notBefore.getTime()) / DAY
    assert.ok(days <= 398 && days >= 396, `server validity ${days} days`)
    assert.ok(notBefore.getTime() <= NOW.getTime() && NOW.getTime() - notBefore.getTime() <= 2 * 60 * 60 * 1000)
  })

  test('the CA is a critical CA:TRUE root for certificate signing only', async (t) => {
    const dir = tempDir(t)
    await ensureDevCertificates(dir, ['localhost'], NOW)
    const ca = join(dir, DEV_CERT_FILES.caCert)
    const text = openssl('x509', '-in', ca, '-noout', '-text')
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE/)
    assert.match(text, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/)
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/)
    assert.match(text, /Subject: O = Airstrip, CN = Airstrip Development CA \(.+\)/)
    assert.equal(openssl('verify', '-CAfile', ca, ca).trim(), `${ca}: OK`)
    const { notBefore, notAfter } = opensslDates(ca)
    assert.ok((notAfter.getTime() - notBefore.getTime()) / DAY >= 3600)
  })

  test('keys are 0600, certificates 0644, folder 0700, no temp files left', async (t) => {
    const dir = join(tempDir(t), 'certs')
    await ensureDevCertificates(dir, ['localhost'], NOW)
    assert.equal(mode(join(dir, DEV_CERT_FILES.caKey)), 0o600)
    assert.equal(mode(join(dir, DEV_CERT_FILES.key)), 0o600)
    assert.equal(mode(join(dir, DEV_CERT_FILES.caCert)), 0o644)
    assert.equal(mode(join(dir, DEV_CERT_FILES.cert)), 0o644)
    assert.equal(mode(dir), 0o700)
    assert.deepEqual(readdirSync(dir).sort(), ['dev-ca.crt', 'dev-ca.key', 'server.crt', 'server.key'])
  })
})

describe('ensureDevCertificates: reuse and regeneration', () => {
  test('same hosts (any order, case, brackets) reuse every file', async (t) => {
    const dir = tempDir(t)
    const first = await ensureDevCertificates(dir, HOSTS, NOW)
    const again = await ensureDevCertificates(dir, ['[::1]', 'airstrip.example.lan', '127.0.0.1', 'LOCALHOST', 'localhost'], new Date(NOW.getTime() + 30 * DAY))
    assert.equal(again.created, false)
    assert.equal(again.caCreated, false)
    assert.equal(again.certPem, first.certPem)
    assert.equal(again.keyPem, first.keyPem)
    assert.deepEqual(again.caCertDer, first.caCertDer)
  })

  test('a changed host list reissues the server certificate and keeps the CA', async (t) => {
    const dir = tempDir(t)
    const first = await ensureDevCertificates(dir, ['localhost'], NOW)
    const changed = await ensureDevCertificates(dir, ['localhost', '192.168.1.20'], NOW)
    assert.equal(changed.created, true)
    assert.equal(changed.caCreated, false)
    assert.equal(changed.caCertPem, first.caCertPem)
    assert.notEqual(changed.certPem, first.certPem)
    assert.notEqual(changed.keyPem, first.keyPem)
    const server = join(dir, DEV_CERT_FILES.cert)
    assert.match(openssl('x509', '-in', server, '-noout', '-text'), /IP Address:192\.168\.1\.20/)
    assert.equal(openssl('verify', '-CAfile', join(dir, DEV_CERT_FILES.caCert), server).trim(), `${server}: OK`)
  })

  test('a server certificate expiring within 30 days is reissued; the CA stays', async (t) => {
    const dir = tempDir(t)
    const first = await ensureDevCertificates(dir, ['localhost'], NOW)
    const stillFine = await ensureDevCertificates(dir, ['localhost'], new Date(NOW.getTime() + 360 * DAY))
    assert.equal(stillFine.created, false)
    const later = new Date(NOW.getTime() + 370 * DAY)
    const renewed = await ensureDevCertificates(dir, ['localhost'], later)
    assert.equal(renewed.created, true)
    assert.equal(renewed.caCreated, false)
    assert.equal(renewed.caCertPem, first.caCertPem)
    const { notBefore } = opensslDates(join(dir, DEV_CERT_FILES.cert))
    assert.ok(Math.abs(notBefore.getTime() - later.getTime()) <= 2 * 60 * 60 * 1000)
  })

  test('a CA near the end of its life is replaced together with the server certificate', async (t) => {
    const dir = tempDir(t)
    const first = await ensureDevCertificates(dir, ['localhost'], NOW)
    const renewed = await ensureDevCertificates(dir, ['localhost'], new Date(NOW.getTime() + 3640 * DAY))
    assert.equal(renewed.caCreated, true)
    assert.notEqual(renewed.caCertPem, first.caCertPem)
  })

  test('a corrupt or missing server file reissues only the server certificate', async (t) => {
    const dir = tempDir(t)
    const first = await ensureDevCertificates(dir, ['localhost'], NOW)
    writeFileSync(join(dir, DEV_CERT_FILES.cert), '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n')
    const repaired = await ensureDevCertificates(dir, ['localhost'], NOW)
    assert.equal(repaired.created, true)
    assert.equal(repaired.caCreated, false)
    assert.equal(repaired.caCertPem, first.caCertPem)
    unlinkSync(join(dir, DEV_CERT_FILES.key))
    const again = await ensureDevCertificates(dir, ['localhost'], NOW)
    assert.equal(again.created, true)
    assert.equal(again.caCreated, false)
  })

  test('a server certificate from another CA, or with a swapped key, is reissued', async (t) => {
    const dir = tempDir(t)
    const other = tempDir(t)
    await ensureDevCertificates(dir, ['localhost'], NOW)
    const foreign = await ensureDevCertificates(other, ['localhost'], NOW)
    writeFileSync(join(dir, DEV_CERT_FILES.cert), foreign.certPem)
    writeFileSync(join(dir, DEV_CERT_FILES.key), foreign.keyPem)
    const fixed = await ensureDevCertificates(dir, ['localhost'], NOW)
    assert.equal(fixed.created, true)
    assert.equal(fixed.caCreated, false)
    writeFileSync(join(dir, DEV_CERT_FILES.key), foreign.keyPem)
    assert.equal((await ensureDevCertificates(dir, ['localhost'], NOW)).created, true)
  })

  test('a corrupt CA key or certificate regenerates everything', async (t) => {
    const dir = tempDir(t)
    const first = await ensureDevCertificates(dir, ['localhost'], NOW)
    writeFileSync(join(dir, DEV_CERT_FILES.caKey), 'not a key')
    const rebuilt = await ensureDevCertificates(dir, ['localhost'], NOW)
    assert.equal(rebuilt.caCreated, true)
    assert.notEqual(rebuilt.caCertPem, first.caCertPem)
    assert.notEqual(rebuilt.certPem, first.certPem)
    writeFileSync(join(dir, DEV_CERT_FILES.caCert), Buffer.from([0x30, 0x82, 0xff, 0xff, 0x00]))
    assert.equal((await ensureDevCertificates(dir, ['localhost'], NOW)).caCreated, true)
    const server = join(dir, DEV_CERT_FILES.cert)
    assert.equal(openssl('verify', '-CAfile', join(dir, DEV_CERT_FILES.caCert), server).trim(), `${server}: OK`)
  })

  test('concurrent calls for one folder agree on one CA and leave consistent files', async (t) => {
    const dir = tempDir(t)
    const [a, b] = await Promise.all([ensureDevCertificates(dir, ['localhost'], NOW), ensureDevCertificates(dir, ['localhost'], NOW)])
    assert.equal(a.caCertPem, b.caCertPem)
    assert.equal(a.certPem, b.certPem)
    assert.equal((await ensureDevCertificates(dir, ['localhost'], NOW)).created, false)
  })

  test('a key file that lost its 0600 is tightened on reuse', async (t) => {
    const dir = tempDir(t)
    await ensureDevCertificates(dir, ['localhost'], NOW)
    chmodSync(join(dir, DEV_CERT_FILES.key), 0o644)
    chmodSync(join(dir, DEV_CERT_FILES.caKey), 0o640)
    assert.equal((await ensureDevCertificates(dir, ['localhost'], NOW)).created, false)
    assert.equal(mode(join(dir, DEV_CERT_FILES.key)), 0o600)
    assert.equal(mode(join(dir, DEV_CERT_FILES.caKey)), 0o600)
  })

  test('unusable host lists are refused before anything is written', async (t) => {
    const dir = tempDir(t)
    for (const hosts of [[], ['https://example.com'], ['example.com:8443'], ['fe80::1%en0'], ['bad_name.lan']]) {
      await assert.rejects(ensureDevCertificates(dir, hosts, NOW), (error) => isAirstripError(error, 'bad-request'))
    }
    assert.deepEqual(readdirSync(dir), [])
  })
})
