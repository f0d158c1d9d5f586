// App Store Connect registration against a local server that implements Apple's contract and
// verifies each ES256 JWT with the API key's public half.
import assert from 'node:assert/strict'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { before, describe, it, test } from 'node:test'
import { createApp } from '../../src/app.ts'
import { appStoreConnectToken, createAppStoreConnectClient, familyUsage, loadAppStoreConnectKey, type AppStoreConnectKey } from '../../src/devices/app-store-connect.ts'
import { loadConfig } from '../../src/config.ts'
import { isAirstripError } from '../../src/errors.ts'
import { tempDir } from '../support/fixtures.ts'
import { SAMPLE_UDIDS } from '../support/profiles.ts'
import { freePort, startServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { startAscContractServer, type AscContractServer } from './asc-contract-server.ts'

const ISSUER = '57246542-96fe-1a63-e053-0824d011072a'
const KEY_ID = '2X9R4HXF34'
const suite = suiteScope()

function p8(): { pem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, publicKey }
}

const IPAD = 'A1B2C3D4-E5F60718293A4B5C'

describe('App Store Connect client', () => {
  let contract: AscContractServer
  let key: AppStoreConnectKey
  before(async () => {
    const pair = p8()
    key = loadAppStoreConnectKey({ issuerId: ISSUER, keyId: KEY_ID, p8: pair.pem })
    contract = await startAscContractServer({ issuerId: ISSUER, keyId: KEY_ID, publicKey: pair.publicKey, classOf: (udid) => (udid === IPAD ? 'IPAD' : 'IPHONE') })
    suite.after(() => contract.close())
  })

  it('signs ES256 tokens for appstoreconnect-v1 living at most 20 minutes', () => {
    const now = new Date('2026-11-26T10:00:00Z')
    const [head, body] = appStoreConnectToken(key, now).split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')))
    assert.deepEqual(head, { alg: 'ES256', kid: KEY_ID, typ: 'JWT' })
    assert.deepEqual(body, { iss: ISSUER, iat: 1795687200, exp: 1795687200 + 900, aud: 'appstoreconnect-v1' })
    assert.throws(() => appStoreConnectToken(key, now, 21 * 60), /at most 20 minutes/)
  })

  it('refuses keys that are not EC P-256 and ids that look wrong', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    const fails = (input: Parameters<typeof loadAppStoreConnectKey>[0], message: RegExp): void =>
      assert.throws(() => loadAppStoreConnectKey(input), (error: unknown) => isAirstripError(error, 'app-store-connect-not-configured') && message.test((error as Error).message))
    fails({ issuerId: ISSUER, keyId: KEY_ID, p8: rsa }, /not an EC P-256 key/)
    fails({ issuerId: ISSUER, keyId: KEY_ID, p8: 'garbage' }, /not a readable private key/)
    fails({ issuerId: ISSUER, keyId: 'bad id!', p8: p8().pem }, /key id looks wrong/)
  })

  it('registers devices; "already exists" and invalid values are outcomes, not errors', async () => {
    const client = createAppStoreConnectClient({ key, now: () => new Date(), baseUrl: contract.baseUrl, ca: contract.ca })
    const first = await client.registerDevice({ name: 'Jane’s iPhone', udid: SAMPLE_UDIDS[1], platform: 'IOS' })
    assert.equal(first.status, 'registered')
    assert.equal(first.status === 'registered' && first.device.udid, SAMPLE_UDIDS[1])
    assert.equal(first.status === 'registered' && first.device.deviceClass, 'IPHONE')
    const again = await client.registerDevice({ name: 'Jane’s iPhone', udid: SAMPLE_UDIDS[1], platform: 'IOS' })
    assert.deepEqual(again, { status: 'already-registered', message: `ENTITY_ERROR.ATTRIBUTE.INVALID: An attribute value is invalid.: A device with number '${SAMPLE_UDIDS[1]}' already exists on this team.` })
    const invalid = await client.registerDevice({ name: 'x', udid: 'nope', platform: 'IOS' })
    assert.equal(invalid.status, 'refused')
    assert.match(invalid.status === 'refused' ? invalid.message : '', /An invalid value 'nope' was provided for the parameter 'udid'/)
    const posted = contract.seen.filter((entry) => entry.method === 'POST')
    assert.equal(posted.length, 3)
    assert.ok(posted.every((entry) => entry.claims !== null), 'every token verified with the public key')
  })

  it('lists every page of devices and counts them per family against the yearly limit', async () => {
    for (let i = 0; i < 230; i++) contract.devices.push(fakeDevice(i, i < 210 ? 'IPHONE' : 'IPAD'))
    const client = createAppStoreConnectClient({ key, now: () => new Date(), baseUrl: contract.baseUrl, ca: contract.ca })
    const listed = await client.listDevices()
    assert.equal(listed.length, contract.devices.length)
    assert.deepEqual(familyUsage(listed), [
      { deviceClass: 'IPAD', count: 20, limit: 100, remaining: 80 },
      { deviceClass: 'IPHONE', count: 211, limit: 100, remaining: 0 },
    ])
    assert.equal(contract.seen.filter((entry) => entry.method === 'GET').length, 2, 'two pages of 200')

    // A next link to another origin is not followed: the bearer token stays with Apple.
    contract.foreignNextLink = true
    try {
      assert.equal((await client.listDevices()).length, 200)
    } finally {
      contract.foreignNextLink = false
    }
  })

  it('a key Apple does not know: the call fails with Apple\'s reason', async () => {
    const stranger = loadAppStoreConnectKey({ issuerId: ISSUER, keyId: KEY_ID, p8: p8().pem })
    const client = createAppStoreConnectClient({ key: stranger, now: () => new Date(), baseUrl: contract.baseUrl, ca: contract.ca })
    await assert.rejects(client.listDevices(), (error: unknown) => isAirstripError(error, 'app-store-connect-failed') && /401.*NOT_AUTHORIZED.*does not verify/.test((error as Error).message))
    await assert.rejects(client.registerDevice({ name: 'x', udid: SAMPLE_UDIDS[0], platform: 'IOS' }), /answered 401/)
  })

  it('refuses non-https endpoints and names unreachable ones', async () => {
    assert.throws(() => createAppStoreConnectClient({ key, now: () => new Date(), baseUrl: 'http://127.0.0.1:1' }), /must be https/)
    const client = createAppStoreConnectClient({ key, now: () => new Date(), baseUrl: 'https://127.0.0.1:1', ca: contract.ca })
    await assert.rejects(client.listDevices(), (error: unknown) => isAirstripError(error, 'app-store-connect-failed') && /ECONNREFUSED/.test((error as Error).message))
  })
})

test('over the API: register enrolled devices with Apple, then read the per-family count', { timeout: 60_000 }, async () => {
  const pair = p8()
  const contract = await startAscContractServer({ issuerId: ISSUER, keyId: KEY_ID, publicKey: pair.publicKey, classOf: (udid) => (udid === IPAD ? 'IPAD' : 'IPHONE') })
  suite.after(() => contract.close())
  const dataDir = tempDir(suite)
  const keyPath = join(dataDir, 'AuthKey.p8')
  writeFileSync(keyPath, pair.pem, { mode: 0o600 })
  const port = await freePort()
  const config = loadConfig({ host: '127.0.0.1', port: String(port), dataDir, publicUrl: `https://localhost:${port}`, logLevel: 'silent', ascIssuerId: ISSUER, ascKeyId: KEY_ID, ascKey: keyPath })
  const app = await createApp(config, { appStoreConnectEndpoint: { baseUrl: contract.baseUrl, ca: contract.ca } })
  await app.server.listen({ host: '127.0.0.1', port })
  suite.after(() => app.close())
  const { token } = await app.services.meta.createApiToken('tests')
  const ca = `-----BEGIN CERTIFICATE-----\n${app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`
  const call = (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = request(`${config.publicUrl}${path}`, { method, ca, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }))
      })
      req.on('error', reject)
      req.end(payload)
    })

  const store = app.services.devices.store
  const enrolled: string[] = []
  for (const [index, device] of [
    { udid: SAMPLE_UDIDS[1], reportedName: '📱 Jane’s iPhone with a name far longer than Apple allows', modelName: 'iPhone 14 Pro', family: 'iphone' },
    { udid: IPAD, reportedName: 'Lab iPad', modelName: 'iPad Air (5th generation)', family: 'ipad' },
  ].entries()) {
    const session = `${index}`.repeat(32)
    await store.openEnrollment({ id: session, inviteId: null, challengeHash: '00'.repeat(32), expiresAt: new Date(Date.now() + 60_000).toISOString() })
    enrolled.push((await store.completeEnrollment(session, { ...device, product: null, osVersion: null, serial: null, signatureVerified: true, chainVerified: null }))!.device.id)
  }

  const registered = await call('POST', '/api/v1/devices/apple/register', { deviceIds: [...enrolled, 'AAAAAAAAAAAAAAAAAAAAAA'] })
  assert.equal(registered.status, 200, JSON.stringify(registered.json))
  const [jane, ipad, unknown] = registered.json.results
  assert.equal(jane.status, 'registered')
  assert.equal([...jane.name].length, 50)
  assert.equal(jane.name, 'Jane’s iPhone with a name far longer than Apple al', 'cleaned to Apple\'s 50 characters, emoji removed')
  assert.equal(ipad.status, 'registered')
  assert.equal(unknown.status, 'not-found')
  assert.deepEqual(contract.devices.map((d) => [d.attributes.udid, d.attributes.platform]), [[SAMPLE_UDIDS[1], 'IOS'], [IPAD, 'IOS']])
  assert.equal((await store.getDevice(enrolled[0]!))?.appleDeviceId, jane.appleDeviceId)
  assert.ok((await store.getDevice(enrolled[0]!))?.appleRegisteredAt)

  const again = await call('POST', '/api/v1/devices/apple/register', { deviceIds: [enrolled[0]] })
  assert.equal(again.json.results[0].status, 'already-registered')
  assert.equal((await store.getDevice(enrolled[0]!))?.appleDeviceId, jane.appleDeviceId, 'the Apple id is kept')

  const usage = await call('GET', '/api/v1/devices/apple')
  assert.equal(usage.status, 200)
  assert.equal(usage.json.total, 2)
  assert.deepEqual(usage.json.families, [
    { deviceClass: 'IPAD', count: 1, limit: 100, remaining: 99 },
    { deviceClass: 'IPHONE', count: 1, limit: 100, remaining: 99 },
  ])
  assert.match(usage.json.note, /still count/)

  assert.equal((await call('POST', '/api/v1/devices/apple/register', { deviceIds: [] })).status, 400)
})

test('without an App Store Connect key the Apple endpoints say what to configure', { timeout: 30_000 }, async () => {
  const server = await startServer(suite)
  const usage = await server.request(`${server.url}/api/v1/devices/apple`, { headers: { authorization: `Bearer ${server.apiToken}` } })
  assert.equal(usage.status, 409)
  assert.equal(usage.json().error, 'app-store-connect-not-configured')
  assert.match(usage.json().message, /--asc-issuer-id, --asc-key-id, --asc-key/)
})

function fakeDevice(i: number, deviceClass: string): AscContractServer['devices'][number] {
  const udid = `0000${String(i).padStart(4, '0')}-${'0'.repeat(12)}${String(i).padStart(4, '0')}`
  return { id: `D${i}`, type: 'devices', attributes: { name: `Device ${i}`, udid, platform: 'IOS', status: i % 7 === 0 ? 'DISABLED' : 'ENABLED', deviceClass, model: null, addedDate: '2026-01-01T00:00:00.000Z' } }
}
