// Apple's bulk device formats and name limits, pure and over the API.
import assert from 'node:assert/strict'
import { before, describe, it, test } from 'node:test'
import { parsePlistDict } from '../../src/ipa/plist.ts'
import { appleDeviceIdsPlist, appleDeviceList, type ExportableDevice } from '../../src/devices/apple-export.ts'
import { APPLE_DEVICE_NAME_MAX, appleDeviceName, tidyDeviceName } from '../../src/devices/device-names.ts'
import { SAMPLE_UDIDS } from '../support/profiles.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { suiteScope } from '../support/suite-scope.ts'
import { uploadAdHocBuild } from './enrollment-helpers.ts'

describe('device names for Apple', () => {
  const cases: Array<[string, string | null, string]> = [
    ['plain', 'Jane’s iPhone', 'Jane’s iPhone'],
    ['tabs and newlines (they would break the file)', 'Jane\tphone\r\nwork', 'Jane phone work'],
    ['emoji and flags removed', '📱 Jane’s iPhone 🇫🇷 ❤️', 'Jane’s iPhone'],
    ['zero-width and control characters', 'Ja\u200bne\u0007', 'Ja ne'],
    ['composed to NFC', 'Ame\u0301lie', 'Amélie'],
    ['only emoji: the fallback', '🎉🎉', 'iPhone 14 Pro 5E6F70'],
    ['missing: the fallback', null, 'iPhone 14 Pro 5E6F70'],
  ]
  for (const [what, name, expected] of cases) {
    it(what, () => assert.equal(appleDeviceName(name, 'iPhone 14 Pro 5E6F70'), expected))
  }
  it(`cuts at ${APPLE_DEVICE_NAME_MAX} without splitting a character`, () => {
    const long = `${'a'.repeat(48)}é and more`
    assert.equal(appleDeviceName(long, 'x'), `${'a'.repeat(48)}é`)
    const decomposed = `${'b'.repeat(49)}e\u0301xyz`
    assert.equal(appleDeviceName(decomposed, 'x').length <= APPLE_DEVICE_NAME_MAX, true)
    assert.ok(!appleDeviceName('😀'.repeat(30) + 'a'.repeat(60), 'x').includes('\ud83d'))
  })
  it('stores names tidied and capped at 200', () => {
    assert.equal(tidyDeviceName('  a\n\nb  '), 'a b')
    assert.equal(tidyDeviceName('   '), null)
    assert.equal(tidyDeviceName('x'.repeat(500))?.length, 200)
  })
})

describe('export formats', () => {
  const devices: ExportableDevice[] = [
    { udid: SAMPLE_UDIDS[1], name: 'Jane’s iPhone\t📱', modelName: 'iPhone 14 Pro', family: 'iphone' },
    { udid: SAMPLE_UDIDS[0], name: null, modelName: 'iPad Pro (11-inch)', family: 'ipad' },
    { udid: 'A1B2C3D4-E5F60718293A4B5C', name: '<Mac> & "friends"', modelName: null, family: 'mac' },
  ]
  it('tab-separated, with the header the portal requires, platform ios/mac', () => {
    assert.equal(
      appleDeviceList(devices),
      [
        'Device ID\tDevice Name\tDevice Platform',
        `${SAMPLE_UDIDS[1]}\tJane’s iPhone\tios`,
        `${SAMPLE_UDIDS[0]}\tiPad Pro (11-inch) 234567\tios`,
        'A1B2C3D4-E5F60718293A4B5C\t<Mac> & "friends"\tmac',
        '',
      ].join('\n'),
    )
  })
  it('the .deviceids plist round-trips through a strict plist parser, escaped', () => {
    const xml = appleDeviceIdsPlist(devices)
    assert.ok(xml.includes('&lt;Mac&gt; &amp; "friends"') || xml.includes('&lt;Mac&gt; &amp; &quot;friends&quot;'))
    assert.deepEqual(parsePlistDict(Buffer.from(xml)), {
      'Device UDIDs': [
        { deviceIdentifier: SAMPLE_UDIDS[1], deviceName: 'Jane’s iPhone', devicePlatform: 'ios' },
        { deviceIdentifier: SAMPLE_UDIDS[0], deviceName: 'iPad Pro (11-inch) 234567', devicePlatform: 'ios' },
        { deviceIdentifier: 'A1B2C3D4-E5F60718293A4B5C', deviceName: '<Mac> & "friends"', devicePlatform: 'mac' },
      ],
    })
  })
  it('an empty list is just the header', () => assert.equal(appleDeviceList([]), 'Device ID\tDevice Name\tDevice Platform\n'))
})

describe('the devices API', () => {
  const suite = suiteScope()
  let server: TestServer
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${server.apiToken}` })
  const ids: Record<string, string> = {}
  before(async () => {
    server = await startServer(suite)
    const store = server.app.services.devices.store
    // Devices as enrolments leave them (the flow itself is covered in enroll-flow.test.ts).
    const answers = [
      { udid: SAMPLE_UDIDS[1], reportedName: tidyDeviceName('Jane’s iPhone\t📱 2'), product: 'iPhone15,2', modelName: 'iPhone 14 Pro', family: 'iphone' },
      { udid: SAMPLE_UDIDS[0], reportedName: tidyDeviceName('x'.repeat(80)), product: 'iPad8,1', modelName: 'iPad Pro (11-inch)', family: 'ipad' },
    ]
    for (const [index, answer] of answers.entries()) {
      const session = `${index}`.repeat(32)
      assert.equal(await store.openEnrollment({ id: session, inviteId: null, challengeHash: 'ab'.repeat(32), expiresAt: new Date(Date.now() + 60_000).toISOString() }), 'opened')
      const done = await store.completeEnrollment(session, { ...answer, osVersion: '22D63', serial: null, signatureVerified: true, chainVerified: null })
      ids[answer.udid] = done!.device.id
    }
  })

  test('export ?format=apple and ?format=deviceids, filtered by build', { timeout: 60_000 }, async () => {
    const apple = await server.request(`${server.url}/api/v1/devices/export?format=apple`, { headers: auth() })
    assert.equal(apple.status, 200)
    assert.equal(apple.headers['content-type'], 'text/plain; charset=utf-8')
    assert.match(apple.headers['content-disposition']!, /filename="devices\.txt"/)
    const lines = apple.text().trimEnd().split('\n')
    assert.equal(lines[0], 'Device ID\tDevice Name\tDevice Platform')
    assert.deepEqual(lines.slice(1).sort(), [`${SAMPLE_UDIDS[0]}\t${'x'.repeat(50)}\tios`, `${SAMPLE_UDIDS[1]}\tJane’s iPhone 2\tios`].sort())

    const plist = await server.request(`${server.url}/api/v1/devices/export?format=deviceids`, { headers: auth() })
    assert.equal(plist.status, 200)
    assert.match(plist.headers['content-type']!, /^application\/xml/)
    const parsed = parsePlistDict(plist.body)['Device UDIDs'] as Array<Record<string, string>>
    assert.equal(parsed.length, 2)

    const build = await uploadAdHocBuild(server, suite, { bundleId: 'com.example.export', name: 'Export', devices: [SAMPLE_UDIDS[0]] })
    const missing = await server.request(`${server.url}/api/v1/devices/export?buildId=${build.id}&provisioned=false`, { headers: auth() })
    assert.equal(missing.text(), `Device ID\tDevice Name\tDevice Platform\n${SAMPLE_UDIDS[1]}\tJane’s iPhone 2\tios\n`, 'only the devices the build misses: ready to register')

    assert.equal((await server.request(`${server.url}/api/v1/devices/export?format=csv`, { headers: auth() })).status, 400)
    assert.equal((await server.request(`${server.url}/api/v1/devices/export?provisioned=true`, { headers: auth() })).json().error, 'bad-request')
    assert.equal((await server.request(`${server.url}/api/v1/devices/export?buildId=nope`, { headers: auth() })).status, 404)
    assert.equal((await server.request(`${server.url}/api/v1/devices/export`)).status, 401)
  })

  test('rename, link to a tester, filter by tester, delete', { timeout: 30_000 }, async () => {
    const id = ids[SAMPLE_UDIDS[1]]!
    const patch = (body: unknown) => server.request(`${server.url}/api/v1/devices/${id}`, { method: 'PATCH', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const renamed = await patch({ name: '  QA iPhone\t14 ', tester: 'Jane@Example.com' })
    assert.equal(renamed.status, 200, renamed.text())
    assert.equal(renamed.json().name, 'QA iPhone 14')
    assert.equal(renamed.json().customName, 'QA iPhone 14')
    assert.equal(renamed.json().reportedName, 'Jane’s iPhone 📱 2')
    assert.equal(renamed.json().tester, 'jane@example.com')
    const byTester = await server.request(`${server.url}/api/v1/devices?tester=jane@example.com`, { headers: auth() })
    assert.deepEqual(byTester.json().devices.map((d: { id: string }) => d.id), [id])
    const reset = await patch({ name: null, tester: null })
    assert.equal(reset.status, 200, reset.text())
    assert.equal(reset.json().name, 'Jane’s iPhone 📱 2')
    assert.equal(reset.json().tester, null)
    assert.equal((await patch({ name: '\u0007 ' })).status, 400)
    // Unknown fields are dropped (fastify's removeAdditional), never applied: the UDID is not editable.
    assert.equal((await patch({ udid: 'x' })).json().udid, SAMPLE_UDIDS[1])
    assert.equal((await patch({ name: 'x'.repeat(201) })).status, 400)

    const other = ids[SAMPLE_UDIDS[0]]!
    assert.equal((await server.request(`${server.url}/api/v1/devices/${other}`, { headers: auth() })).json().udid, SAMPLE_UDIDS[0])
    assert.equal((await server.request(`${server.url}/api/v1/devices/${other}`, { method: 'DELETE', headers: auth() })).status, 204)
    const gone = await server.request(`${server.url}/api/v1/devices/${other}`, { headers: auth() })
    assert.equal(gone.status, 404)
    assert.equal(gone.json().error, 'device-not-found')
    assert.equal((await server.request(`${server.url}/api/v1/devices/${other}`, { method: 'DELETE', headers: auth() })).status, 404)
  })
})
