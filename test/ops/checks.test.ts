// Pure checks: readiness of disk and certificate, and the start-up checks `serve` prints.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../../src/config.ts'
import { checkCertificate, checkDisk, readinessReport } from '../../src/ops/readiness.ts'
import { checkStartup, type StartupFacts } from '../../src/ops/startup-checks.ts'
import type { CertificateInfo, RenewalState } from '../../src/tls/tls-state.ts'

const DAY = 24 * 60 * 60 * 1000
const now = new Date('2027-03-01T00:00:00Z')

function cert(daysLeft: number, lifetimeDays = 90, source: CertificateInfo['source'] = 'acme'): CertificateInfo {
  const notAfter = new Date(now.getTime() + daysLeft * DAY)
  return { source, names: ['ota.example.com'], issuer: 'R11', notBefore: new Date(notAfter.getTime() - lifetimeDays * DAY), notAfter }
}

const noFailures: RenewalState = { lastAttemptAt: null, lastSuccessAt: null, lastError: null, consecutiveFailures: 0, nextAttemptAt: null }

test('certificate readiness: fine while renewal works, warns while it fails, fails only near expiry', () => {
  const cases: [string, CertificateInfo | null, RenewalState | null, boolean, boolean, RegExp][] = [
    ['fresh', cert(80), noFailures, true, false, /valid until 2027-05-20.*acme, issued by R11/],
    ['renewal failing, 20 days left', cert(20), { ...noFailures, lastError: 'the ACME server … cannot be reached', consecutiveFailures: 3 }, true, true, /valid until/],
    ['8 days left', cert(8), noFailures, true, false, /valid until/],
    ['6 days left', cert(6), noFailures, false, false, /about to expire/],
    ['expired', cert(-1), noFailures, false, false, /expired/],
    ['6-day certificate with 1.5 days left', cert(1.5, 6), noFailures, true, false, /valid until/],
    ['6-day certificate with 0.5 days left', cert(0.5, 6), noFailures, false, false, /about to expire/],
    ['placeholder', cert(1, 1, 'placeholder'), noFailures, false, false, /no trusted certificate yet/],
  ]
  for (const [name, certificate, renewal, ok, warns, detail] of cases) {
    const { check, warnings } = checkCertificate({ certificate, renewal }, false, now)
    assert.equal(check.ok, ok, name)
    assert.match(check.detail, detail, name)
    assert.equal(warnings.length > 0, warns, name)
  }
  assert.match(checkCertificate({ certificate: null, renewal: { ...noFailures, lastError: 'x', consecutiveFailures: 1 } }, false, now).warnings[0]!, /renewal failing \(1 attempt in a row\): x/)
  assert.equal(checkCertificate({ certificate: null, renewal: null }, true, now).check.ok, true, 'plain HTTP: TLS is someone else\'s job')
})

test('disk readiness and the report', () => {
  assert.equal(checkDisk(2 * 1024 ** 3, 1024 ** 3).ok, true)
  assert.match(checkDisk(512 * 1024 ** 2, 1024 ** 3).detail, /0\.50 GiB free, below the 1\.00 GiB floor/)
  const report = readinessReport([checkDisk(1, 0), checkDisk(0, 1)], ['w'])
  assert.deepEqual([report.ready, report.warnings], [false, ['w']])
})

test('start-up checks say what to fix', () => {
  const facts: StartupFacts = { now, dataDirProblem: null, databaseModifiedAt: null }
  const findings = (flags: Record<string, string | boolean>, over: Partial<StartupFacts> = {}) => checkStartup(loadConfig({ dataDir: '/srv/airstrip', ...flags }, {}), { ...facts, ...over })

  assert.deepEqual(findings({ publicUrl: 'https://ota.example.com' }), [])
  assert.deepEqual(findings({ domain: 'ota.example.com' }), [])
  const cases: [Record<string, string | boolean>, Partial<StartupFacts>, 'error' | 'warning', RegExp, RegExp][] = [
    [{ publicUrl: 'https://ota.example.com' }, { dataDirProblem: 'EACCES: permission denied' }, 'error', /not writable \(EACCES/, /write access/],
    [{ insecureHttp: true, publicUrl: 'http://ota.example.com' }, {}, 'warning', /plain HTTP: iOS refuses/, /--domain/],
    [{ insecureHttp: true, publicUrl: 'https://ota.example.com' }, {}, 'warning', /without --trust-proxy/, /--trust-proxy/],
    [{}, {}, 'warning', /this machine only/, /--public-url/],
    [{ domain: 'ota.example.com', publicUrl: 'https://other.example.com' }, {}, 'warning', /is not --domain/, /drop --public-url/],
    [{ publicUrl: 'https://ota.example.com' }, { now: new Date('2001-01-01T00:00:00Z') }, 'error', /cannot be right/, /NTP/],
    [{ publicUrl: 'https://ota.example.com' }, { databaseModifiedAt: new Date(now.getTime() + 3 * DAY) }, 'warning', /behind the database's last write/, /timedatectl/],
  ]
  for (const [flags, over, level, message, fix] of cases) {
    const [finding, ...rest] = findings(flags, over)
    assert.equal(rest.length, 0, message.source)
    assert.equal(finding?.level, level, message.source)
    assert.match(finding!.message, message)
    assert.match(finding!.fix, fix)
  }
})

test('log lines never carry credentials from query strings', async () => {
  const { redactQuery, loggerOptions } = await import('../../src/ops/logging.ts')
  assert.equal(redactQuery('/unsubscribe?t=abc123&x=1'), '/unsubscribe?t=<redacted>&x=1')
  assert.equal(redactQuery('/cb?code=42&TOKEN=zz#frag'), '/cb?code=<redacted>&TOKEN=<redacted>#frag')
  assert.equal(redactQuery('/api/v1/builds?notes=hi'), '/api/v1/builds?notes=hi')
  const options = loggerOptions('info', (url) => url.replace(/^\/d\/[^/]+/, '/d/<token>'))
  assert.deepEqual(options.serializers.req({ method: 'GET', url: '/d/secret-token/a.ipa?sig=s', ip: '192.0.2.1' }), { method: 'GET', url: '/d/<token>/a.ipa?sig=<redacted>', remoteAddress: '192.0.2.1' })
  assert.ok(options.redact.paths.includes('req.headers.authorization'))
})
