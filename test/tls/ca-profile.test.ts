import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { parse } from 'plist'
import { isAirstripError } from '../../src/errors.ts'
import { buildCaProfile, CA_TRUST_STEPS } from '../../src/tls/ca-profile.ts'
import { ensureDevCertificates } from '../../src/tls/dev-certificates.ts'
import { tempDir } from '../support/fixtures.ts'

const UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/
const OPTIONS = { displayName: 'Airstrip CA (build.lan)', identifier: 'lan.build.airstrip.ca' }

type Dict = Record<string, unknown>

function parseProfile(xml: string): { top: Dict; root: Dict } {
  const top = parse(xml) as Dict
  const content = top['PayloadContent']
  assert.ok(Array.isArray(content) && content.length === 1, 'exactly one payload')
  return { top, root: content[0] as Dict }
}

describe('buildCaProfile', () => {
  let caCertDer: Buffer
  let otherCaDer: Buffer
  let serverDer: Buffer
  const dir = tempDir({ after })

  before(async () => {
    const certs = await ensureDevCertificates(`${dir}/a`, ['localhost'])
    caCertDer = certs.caCertDer
    serverDer = Buffer.from(new X509Certificate(certs.certPem).raw)
    otherCaDer = (await ensureDevCertificates(`${dir}/b`, ['localhost'])).caCertDer
  })

  test('is an XML plist with one com.apple.security.root payload carrying the CA DER', () => {
    const xml = buildCaProfile({ caCertDer, ...OPTIONS })
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>'), 'XML declaration first')
    const { top, root } = parseProfile(xml)
    assert.equal(top['PayloadType'], 'Configuration')
    assert.equal(top['PayloadVersion'], 1)
    assert.equal(top['PayloadIdentifier'], OPTIONS.identifier)
    assert.equal(top['PayloadDisplayName'], OPTIONS.displayName)
    assert.equal(top['PayloadRemovalDisallowed'], false)
    assert.match(String(top['PayloadDescription']), /trust.*Airstrip server.*test installs/s)
    assert.match(String(top['PayloadUUID']), UUID)
    assert.equal(root['PayloadType'], 'com.apple.security.root')
    assert.equal(root['PayloadVersion'], 1)
    assert.match(String(root['PayloadUUID']), UUID)
    assert.notEqual(root['PayloadUUID'], top['PayloadUUID'])
    assert.ok(String(root['PayloadIdentifier']).startsWith(`${OPTIONS.identifier}.`))
    assert.match(String(root['PayloadDisplayName']), /^Airstrip Development CA \(.+\)$/)
    const der = root['PayloadContent']
    assert.ok(der instanceof Uint8Array)
    assert.deepEqual(Buffer.from(der), caCertDer)
    assert.ok(new X509Certificate(Buffer.from(der)).ca)
  })

  test('UUIDs are stable for one CA and change with the CA', () => {
    const first = parseProfile(buildCaProfile({ caCertDer, ...OPTIONS }))
    const again = parseProfile(buildCaProfile({ caCertDer: new Uint8Array(caCertDer), ...OPTIONS, displayName: 'Renamed' }))
    assert.equal(again.top['PayloadUUID'], first.top['PayloadUUID'])
    assert.equal(again.root['PayloadUUID'], first.root['PayloadUUID'])
    const other = parseProfile(buildCaProfile({ caCertDer: otherCaDer, ...OPTIONS }))
    assert.notEqual(other.top['PayloadUUID'], first.top['PayloadUUID'])
    assert.notEqual(other.root['PayloadUUID'], first.root['PayloadUUID'])
  })

  test('escapes display names as XML text', () => {
    const { top } = parseProfile(buildCaProfile({ caCertDer, ...OPTIONS, displayName: 'A & B <dev>' }))
    assert.equal(top['PayloadDisplayName'], 'A & B <dev>')
  })

  test('refuses a non-CA certificate, garbage, and bad identifiers', () => {
    const refused = (error: unknown): boolean => isAirstripError(error, 'bad-request')
    assert.throws(() => buildCaProfile({ caCertDer: serverDer, ...OPTIONS }), refused)
    assert.throws(() => buildCaProfile({ caCertDer: Buffer.from('nope'), ...OPTIONS }), refused)
    assert.throws(() => buildCaProfile({ caCertDer, ...OPTIONS, identifier: 'not reverse dns' }), refused)
    assert.throws(() => buildCaProfile({ caCertDer, ...OPTIONS, displayName: ' ' }), refused)
  })
})

describe('CA_TRUST_STEPS', () => {
  test('walk through download, install and full trust in order', () => {
    const text = CA_TRUST_STEPS.join('\n')
    const at = (needle: string): number => {
      const index = text.indexOf(needle)
      assert.ok(index >= 0, `mentions ${needle}`)
      return index
    }
    assert.ok(at('Safari') < at('Profile Downloaded'))
    assert.ok(at('Profile Downloaded') < at('Install'))
    assert.ok(at('Install') < at('Settings › General › About › Certificate Trust Settings'))
    assert.match(text, /full trust/)
  })
})
