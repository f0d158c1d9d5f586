import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, describeConfig, loadConfig } from '../src/config.ts'

test('defaults: HTTPS with a dev CA on 8443, ./data', () => {
  const config = loadConfig({}, {})
  assert.equal(config.tls.mode, 'dev')
  assert.equal(config.port, 8443)
  assert.equal(config.publicUrl, 'https://localhost:8443')
  assert.match(config.dataDir, /\/data$/)
  assert.ok(Object.isFrozen(config))
})

test('flags win over AIRSTRIP_* variables', () => {
  const config = loadConfig({ port: '9000' }, { AIRSTRIP_PORT: '7000', AIRSTRIP_PUBLIC_URL: 'https://ota.example.com/base/', AIRSTRIP_TRUST_PROXY: 'true' })
  assert.equal(config.port, 9000)
  assert.equal(config.publicUrl, 'https://ota.example.com/base')
  assert.equal(config.trustProxy, true)
})

test('bad settings are refused with the setting named', () => {
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ port: '70000' }, /port/],
    [{ publicUrl: 'http://ota.example.com' }, /https/],
    [{ publicUrl: 'not a url' }, /absolute URL/],
    [{ publicUrl: 'https://ota.example.com/?x=1' }, /query/],
    [{ tlsCert: 'a.pem' }, /go together/],
    [{ insecureHttp: true, devTls: true }, /cannot be combined/],
    [{ logLevel: 'loud' }, /logLevel/],
    [{ trustProxy: 'maybe' }, /boolean/],
  ]
  for (const [flags, message] of cases) assert.throws(() => loadConfig(flags, {}), (error: Error) => error instanceof ConfigError && message.test(error.message))
})

test('--insecure-http allows an http public URL; the description masks the key path', () => {
  const insecure = loadConfig({ insecureHttp: true }, {})
  assert.equal(insecure.publicUrl, 'http://localhost:8080')
  const withFiles = loadConfig({ tlsCert: '/etc/ssl/cert.pem', tlsKey: '/etc/ssl/private/key.pem' }, {})
  const text = describeConfig(withFiles)
  assert.match(text, /cert\.pem/)
  assert.doesNotMatch(text, /key\.pem/)
})
