import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError, describeConfig, loadConfig } from '../../src/config.ts'

const S3 = { AIRSTRIP_S3_BUCKET: 'builds', AIRSTRIP_S3_ENDPOINT: 'http://127.0.0.1:9000/', AIRSTRIP_S3_ACCESS_KEY_ID: 'key', AIRSTRIP_S3_SECRET_ACCESS_KEY: 'very-secret', AIRSTRIP_S3_PATH_STYLE: 'true' }

describe('storage settings', () => {
  it('defaults to SQLite, the data dir and proxied downloads', () => {
    assert.deepEqual(loadConfig({}, {}).storage, { databaseUrl: null, s3: null, downloads: 'proxied' })
  })

  it('reads PostgreSQL and S3 from the environment, flags winning', () => {
    const config = loadConfig({ s3Prefix: 'ota' }, { AIRSTRIP_DATABASE_URL: 'postgres://airstrip:pw@db:5432/airstrip', ...S3, AIRSTRIP_S3_REGION: 'eu-west-1', AIRSTRIP_DOWNLOADS: 'presigned' })
    assert.deepEqual(config.storage, {
      databaseUrl: 'postgres://airstrip:pw@db:5432/airstrip',
      s3: { endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', bucket: 'builds', accessKeyId: 'key', secretAccessKey: 'very-secret', forcePathStyle: true, prefix: 'ota/', publicEndpoint: null },
      downloads: 'presigned',
    })
  })

  it('prints passwords and secrets masked', () => {
    const printed = describeConfig(loadConfig({}, { AIRSTRIP_DATABASE_URL: 'postgresql://airstrip:hunter2@db/airstrip?sslpassword=also', ...S3 }))
    assert.match(printed, /database +postgresql:\/\/airstrip:\*\*\*@db\/airstrip\?sslpassword=\*\*\*/)
    assert.match(printed, /builds +s3:\/\/builds\/ at http:\/\/127\.0\.0\.1:9000 \(path-style\), key key, secret \*\*\*/)
    assert.ok(!printed.includes('hunter2') && !printed.includes('very-secret') && !printed.includes('also'))
  })

  const refused: Array<[string, Record<string, string>, RegExp]> = [
    ['a database URL that is not PostgreSQL', { AIRSTRIP_DATABASE_URL: 'mysql://db/airstrip' }, /^databaseUrl: must be a postgres:\/\//],
    ['S3 settings without a bucket', { AIRSTRIP_S3_ENDPOINT: 'http://s3' }, /^s3Bucket: needed with s3Endpoint/],
    ['a bucket name S3 would refuse', { AIRSTRIP_S3_BUCKET: 'My_Bucket' }, /^s3Bucket: "My_Bucket" is not a valid bucket name/],
    ['half a credential', { AIRSTRIP_S3_BUCKET: 'builds', AIRSTRIP_S3_ACCESS_KEY_ID: 'key' }, /go together/],
    ['an endpoint with credentials in it', { AIRSTRIP_S3_BUCKET: 'builds', AIRSTRIP_S3_ENDPOINT: 'https://u:p@s3.example.com' }, /^s3Endpoint: .* without credentials/],
    ['an unknown download mode', { AIRSTRIP_DOWNLOADS: 'cdn' }, /^downloads: "cdn" is not proxied or presigned/],
    ['presigned downloads without S3', { AIRSTRIP_DOWNLOADS: 'presigned' }, /needs builds in S3/],
    ['presigned links longer than SigV4 allows', { ...S3, AIRSTRIP_DOWNLOADS: 'presigned', AIRSTRIP_LINK_TTL: String(8 * 24 * 3600) }, /^linkTtlSeconds: presigned downloads cannot outlive 604800 s/],
  ]
  for (const [what, env, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => loadConfig({}, env), (error) => error instanceof ConfigError && message.test(error.message))
    })
  }
})
