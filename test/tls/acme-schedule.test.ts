// The pure parts of automatic HTTPS: when to renew, how long to back off, what port 80 answers,
// and how --domain shapes the configuration.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACME_DIRECTORIES, ConfigError, describeConfig, loadConfig } from '../../src/config.ts'
import { createChallengeResponder } from '../../src/tls/acme-challenges.ts'
import { answerHttpPortRequest } from '../../src/tls/acme-http-port.ts'
import { renewalDueAt, retryDelayMs } from '../../src/tls/tls-state.ts'

const DAY = 24 * 60 * 60 * 1000

test('renewal is due with a third of the lifetime left', () => {
  const notBefore = new Date('2027-01-01T00:00:00Z')
  const cases: [number, string][] = [
    [90 * DAY, '2027-03-02T00:00:00.000Z'], // Let's Encrypt: 60 days in, 30 left
    [6 * DAY, '2027-01-05T00:00:00.000Z'], // short-lived profile: 4 days in
    [12_000, '2027-01-01T00:00:08.000Z'], // pebble in the tests
  ]
  for (const [lifetime, due] of cases) {
    assert.equal(renewalDueAt({ notBefore, notAfter: new Date(notBefore.getTime() + lifetime) }).toISOString(), due)
  }
})

test('failed attempts back off, scaled to the lifetime and capped at an hour', () => {
  const letsEncrypt = 90 * DAY
  assert.equal(retryDelayMs(1, letsEncrypt), 10 * 60_000)
  assert.equal(retryDelayMs(2, letsEncrypt), 20 * 60_000)
  assert.equal(retryDelayMs(10, letsEncrypt), 60 * 60_000)
  assert.equal(retryDelayMs(1, 12_000), 1000)
  assert.equal(retryDelayMs(5, 12_000), 1000, 'a 12 s certificate is retried every second')
  assert.equal(retryDelayMs(1, null), 30_000, 'no certificate yet: 30 s, then doubling')
  assert.equal(retryDelayMs(3, null), 120_000)
  assert.equal(retryDelayMs(1000, null), 60 * 60_000)
})

test('the plain-HTTP port answers challenges and redirects everything else to the public origin', () => {
  const challenges = createChallengeResponder()
  challenges.setHttp('tok_EN-1', 'tok_EN-1.thumbprint')
  const publicUrl = 'https://ota.example.com/base'
  const answer = (method: string, target: string) => answerHttpPortRequest(method, target, publicUrl, challenges)

  assert.deepEqual([answer('GET', '/.well-known/acme-challenge/tok_EN-1').status, answer('GET', '/.well-known/acme-challenge/tok_EN-1').body], [200, 'tok_EN-1.thumbprint'])
  assert.equal(answer('GET', '/.well-known/acme-challenge/other').status, 404)
  assert.equal(answer('GET', '/.well-known/acme-challenge/../../etc/passwd').status, 404)
  assert.equal(answer('POST', '/.well-known/acme-challenge/tok_EN-1').status, 404)
  challenges.deleteHttp('tok_EN-1')
  assert.equal(answer('GET', '/.well-known/acme-challenge/tok_EN-1').status, 404, 'gone once the order is done')

  const redirects: [string, string, number, string][] = [
    ['GET', '/base/i/abc?ref=qr', 301, 'https://ota.example.com/base/i/abc?ref=qr'],
    ['HEAD', '/', 301, 'https://ota.example.com/'],
    ['POST', '/base/api/v1/builds', 308, 'https://ota.example.com/base/api/v1/builds'],
    ['GET', '//evil.example/', 301, 'https://ota.example.com/'],
    ['GET', 'http://evil.example/x', 301, 'https://ota.example.com/'],
  ]
  for (const [method, target, status, location] of redirects) {
    const result = answer(method, target)
    assert.equal(result.status, status, target)
    assert.equal(result.headers['location'], location, target)
  }
})

test('--domain: HTTPS on 443, port 80 for challenges, public URL https://<domain>, Let\'s Encrypt by default', () => {
  const config = loadConfig({ domain: 'Builds.Example.com' }, { AIRSTRIP_ACME_EMAIL: 'ops@example.com' })
  assert.deepEqual(config.tls, { mode: 'acme', domain: 'builds.example.com', email: 'ops@example.com', directoryUrl: ACME_DIRECTORIES.letsencrypt, caRootPath: null })
  assert.equal(config.port, 443)
  assert.equal(config.httpPort, 80)
  assert.equal(config.publicUrl, 'https://builds.example.com')
  assert.match(describeConfig(config), /automatic \(ACME\) for builds\.example\.com/)

  const staging = loadConfig({}, { AIRSTRIP_DOMAIN: 'ota.example.org', AIRSTRIP_ACME_DIRECTORY: 'letsencrypt-staging', AIRSTRIP_PORT: '8443', AIRSTRIP_HTTP_PORT: '8080' })
  assert.equal(staging.tls.mode === 'acme' && staging.tls.directoryUrl, ACME_DIRECTORIES['letsencrypt-staging'])
  assert.equal(staging.publicUrl, 'https://ota.example.org:8443')
  assert.equal(staging.httpPort, 8080)
  assert.equal(loadConfig({ domain: 'ota.example.org', httpPort: '0' }, {}).httpPort, null, '0 turns the plain-HTTP port off (TLS-ALPN-01 only)')
  assert.equal(loadConfig({}, {}).httpPort, null, 'no plain-HTTP port unless asked for')

  const refused: [Record<string, string | boolean>, RegExp][] = [
    [{ domain: '*.example.com' }, /DNS name/],
    [{ domain: '192.0.2.1' }, /DNS name/],
    [{ domain: 'bad_name.example.com' }, /DNS name/],
    [{ domain: 'ota.example.com', tlsCert: 'c.pem', tlsKey: 'k.pem' }, /cannot be combined/],
    [{ domain: 'ota.example.com', insecureHttp: true }, /cannot be combined/],
    [{ domain: 'ota.example.com', acmeEmail: 'not an address' }, /acmeEmail/],
    [{ domain: 'ota.example.com', acmeDirectory: 'http://ca.example/dir' }, /acmeDirectory/],
    [{ insecureHttp: true, httpPort: '80' }, /--http-port/],
    [{ shutdownTimeout: '-1' }, /shutdownTimeout/],
  ]
  for (const [flags, message] of refused) assert.throws(() => loadConfig(flags, {}), (error: Error) => error instanceof ConfigError && message.test(error.message), JSON.stringify(flags))
})
