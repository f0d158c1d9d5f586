import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { before, describe, it } from 'node:test'
import { buildIpa } from '../support/ipa-builder.ts'
import { tempDir } from '../support/fixtures.ts'
import { chainPem, DAYS, makeCa, makeLeaf, makePki, type TestPki } from './support/certificates.ts'
import { doctor, fileScope, layOutSite, pemFile, startDeployment, type TlsSetup } from './support/deployment.ts'

const suite = fileScope()
let pki: TestPki
let ipa: Buffer

before(async () => {
  pki = await makePki()
  const dir = tempDir(suite, 'airstrip-doctor-tls-')
  await buildIpa(join(dir, 'app.ipa'))
  ipa = readFileSync(join(dir, 'app.ipa'))
})

/** One deployment over `tls`, diagnosed from its manifest URL with the test root trusted. */
async function diagnose(t: { after(fn: () => unknown): void }, tls: TlsSetup, options: { trustRoot?: boolean } = {}) {
  const site = await startDeployment(t, tls)
  const urls = layOutSite(site, { ipa, bundleId: 'com.example.app', bundleVersion: '1.2.3', title: 'Example' })
  const args = [urls.manifestUrl, '--timeout', '10', ...(options.trustRoot === false ? [] : ['--ca-file', pemFile(t, pki.root.certPem)])]
  return doctor(...args)
}

describe('TLS faults', () => {
  it('tls-untrusted: a self-signed certificate', async (t) => {
    const leaf = await makeLeaf('self')
    const run = await diagnose(t, { cert: leaf.certPem, key: leaf.keyPem })
    assert.equal(run.status('tls-untrusted'), 'fail')
    assert.match(run.check('tls-untrusted').message, /self-signed/)
    assert.match(run.check('tls-untrusted').symptom ?? '', /Cannot connect/)
    assert.equal(run.status('tls-incomplete-chain'), 'pass')
    assert.equal(run.status('manifest-invalid'), 'pass', 'the rest is still diagnosed')
    assert.equal(run.code, 1)
  })

  it('tls-untrusted: a chain to a CA nobody trusts (no --ca-file)', async (t) => {
    const run = await diagnose(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem }, { trustRoot: false })
    assert.equal(run.status('tls-untrusted'), 'fail')
    assert.match(run.check('tls-untrusted').message, /Doctor Test Root CA/)
  })

  it('tls-expired: a leaf that expired yesterday', async (t) => {
    const leaf = await makeLeaf(pki.intermediate, { notBefore: new Date(Date.now() - 100 * DAYS), notAfter: new Date(Date.now() - DAYS) })
    const run = await diagnose(t, { cert: chainPem(leaf, pki.intermediate), key: leaf.keyPem })
    assert.equal(run.status('tls-expired'), 'fail')
    assert.match(run.check('tls-expired').message, /expired on/)
    assert.equal(run.status('tls-untrusted'), 'pass')
  })

  it('tls-hostname-mismatch: a certificate for another host', async (t) => {
    const leaf = await makeLeaf(pki.intermediate, { hosts: ['ota.example.test'] })
    const run = await diagnose(t, { cert: chainPem(leaf, pki.intermediate), key: leaf.keyPem })
    assert.equal(run.status('tls-hostname-mismatch'), 'fail')
    assert.match(run.check('tls-hostname-mismatch').message, /localhost/)
    assert.equal(run.status('tls-untrusted'), 'pass')
  })

  it('tls-incomplete-chain: the leaf without its intermediate (found through AIA)', async (t) => {
    const aia = await startDeployment(t, null, {})
    aia.routes['/intermediate.der'] = { type: 'application/pkix-cert', body: Buffer.from(pki.intermediate.cert.rawData) }
    const leaf = await makeLeaf(pki.intermediate, { caIssuersUrl: aia.url('/intermediate.der') })
    const run = await diagnose(t, { cert: leaf.certPem, key: leaf.keyPem })
    assert.equal(run.status('tls-incomplete-chain'), 'fail')
    assert.match(run.check('tls-incomplete-chain').message, /Doctor Test Intermediate CA/)
    assert.equal(run.status('tls-untrusted'), 'pass')
    assert.equal(run.code, 1)
  })

  it('tls-incomplete-chain: the leaf alone without an AIA URL cannot be told from a private CA', async (t) => {
    const run = await diagnose(t, { cert: pki.leaf.certPem, key: pki.leaf.keyPem })
    assert.equal(run.status('tls-untrusted'), 'fail')
    assert.equal(run.status('tls-incomplete-chain'), 'warn')
  })

  it('tls-old-protocol: a server that stops at TLS 1.1', async (t) => {
    const run = await diagnose(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })
    assert.equal(run.status('tls-old-protocol'), 'fail')
    assert.match(run.check('tls-old-protocol').message, /TLSv1\.1/)
    assert.equal(run.status('manifest-unreachable'), 'pass', 'fetched anyway, past the TLS failure')
  })

  it('tls-certificate-policy: no subjectAltName, and 900 days of validity', async (t) => {
    const leaf = await makeLeaf(pki.intermediate, { hosts: null, commonName: 'localhost', notAfter: new Date(Date.now() + 899 * DAYS) })
    const run = await diagnose(t, { cert: chainPem(leaf, pki.intermediate), key: leaf.keyPem })
    assert.equal(run.status('tls-certificate-policy'), 'fail')
    assert.match(run.check('tls-certificate-policy').message, /no subjectAltName/)
    assert.match(run.check('tls-certificate-policy').message, /900 days/)
  })

  it('an .ipa host with its own TLS fault is named as such', async (t) => {
    const good = await startDeployment(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem })
    const selfSigned = await makeLeaf('self')
    const assets = await startDeployment(t, { cert: selfSigned.certPem, key: selfSigned.keyPem })
    const assetUrls = layOutSite(assets, { ipa, bundleId: 'com.example.app', bundleVersion: '1.2.3', title: 'Example' })
    good.routes['/manifest.plist'] = { type: 'text/xml', body: assetUrls.manifest, headers: { 'cache-control': 'no-store' } }
    const run = await doctor(good.url('/manifest.plist'), '--ca-file', pemFile(t, pki.root.certPem), '--timeout', '10')
    assert.equal(run.status('tls-untrusted'), 'fail')
    assert.match(run.check('tls-untrusted').message, /\(ipa\)/)
    assert.doesNotMatch(run.check('tls-untrusted').message, /\(manifest\)/)
    assert.equal(run.status('ipa-corrupt'), 'pass')
  })

  it('tls-untrusted: a chain that ends at a root the server sends but nobody trusts', async (t) => {
    const otherRoot = await makeCa('Somebody Else Root')
    const leaf = await makeLeaf(otherRoot)
    const run = await diagnose(t, { cert: chainPem(leaf, otherRoot), key: leaf.keyPem })
    assert.equal(run.status('tls-untrusted'), 'fail')
    assert.match(run.check('tls-untrusted').message, /Somebody Else Root/)
    assert.equal(run.status('tls-expired'), 'pass')
  })
})
