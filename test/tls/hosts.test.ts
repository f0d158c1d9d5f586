import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { normalizeHost, normalizeHosts } from '../../src/tls/hosts.ts'

describe('normalizeHost', () => {
  test('DNS names are lower-cased, punycoded and lose a trailing dot', () => {
    assert.deepEqual(normalizeHost('Airstrip.Example.LAN.'), { type: 'dns', value: 'airstrip.example.lan' })
    assert.deepEqual(normalizeHost('büro.lan'), { type: 'dns', value: 'xn--bro-hoa.lan' })
    assert.deepEqual(normalizeHost(' localhost '), { type: 'dns', value: 'localhost' })
    assert.deepEqual(normalizeHost('*.dev.example.com'), { type: 'dns', value: '*.dev.example.com' })
  })

  test('IPv4 and IPv6 literals become IP entries in canonical form', () => {
    assert.deepEqual(normalizeHost('192.168.1.20'), { type: 'ip', value: '192.168.1.20' })
    assert.deepEqual(normalizeHost('::1'), { type: 'ip', value: '::1' })
    assert.deepEqual(normalizeHost('[::1]'), { type: 'ip', value: '::1' })
    assert.deepEqual(normalizeHost('FD00:0:0:0:0:0:0:0A'), { type: 'ip', value: 'fd00::a' })
    assert.deepEqual(normalizeHost('::ffff:192.168.1.20'), { type: 'ip', value: '::ffff:c0a8:114' })
  })

  test('refuses what a certificate cannot carry', () => {
    for (const bad of ['', 'https://example.com', 'example.com:8443', 'example.com/path', 'user@example.com',
      'fe80::1%en0', 'bad_name.lan', '-leading.lan', '1.2.3', '01.2.3.4', 'a..b', '*.com', `${'a'.repeat(64)}.lan`]) {
      assert.throws(() => normalizeHost(bad), (error) => isAirstripError(error, 'bad-request'), bad)
    }
  })
})

describe('normalizeHosts', () => {
  test('de-duplicates equivalent spellings and sorts', () => {
    assert.deepEqual(normalizeHosts(['LOCALHOST', '127.0.0.1', 'localhost.', '[::1]', '0:0::1']), [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ])
  })

  test('requires at least one host', () => {
    assert.throws(() => normalizeHosts([]), (error) => isAirstripError(error, 'bad-request'))
  })
})
