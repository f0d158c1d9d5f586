import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { inspectWithin } from '../../src/doctor/gather-ipa.ts'
import { createDeadline, createFetcher, type Fetcher } from '../../src/doctor/http-fetch.ts'
import { RangedSource } from '../../src/doctor/ranged-source.ts'
import { createTrustStore } from '../../src/doctor/trust-store.ts'
import { inspectIpa, inspectSource } from '../../src/ipa/inspect.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { CPU_TYPE_ARM64, buildMachO, toBuffer } from '../support/macho.ts'
import { buildProfilePlist } from '../support/profiles.ts'
import { startDeployment, type StaticFile } from './support/deployment.ts'

const NOW = new Date('2026-06-01T00:00:00Z')

function fetcherFor(t: { after(fn: () => unknown): void }): Fetcher {
  const fetcher = createFetcher({ trust: createTrustStore(), deadline: createDeadline(20_000), requestTimeoutMs: 10_000 })
  t.after(() => fetcher.close())
  return fetcher
}

async function served(t: { after(fn: () => unknown): void }, file: StaticFile) {
  const site = await startDeployment(t, null, { '/App.ipa': file })
  return { site, url: site.url('/App.ipa'), size: Buffer.from(file.body).length }
}

describe('RangedSource: the ingest code over HTTP Range requests', () => {
  for (const name of ['bitbar-sample-latest-iOS.ipa', 'appinfo-embedded.ipa', 'ipaserver-ipa.ipa', 'very capable app.ipa']) {
    it(`reads ${name} exactly as inspectIpa reads the file, fetching only part of it`, async (t) => {
      const path = fixture('ipa', name)
      const { url, size, site } = await served(t, { body: readFileSync(path) })
      const source = new RangedSource({ fetcher: fetcherFor(t), url, size, etag: null, maxBytes: 64 * 1024 * 1024 })
      const remote = await inspectSource(source, { now: NOW, sha256: null })
      const local = await inspectIpa(path, { now: NOW, sha256: null })
      assert.deepEqual(remote.info, local.info)
      assert.deepEqual(remote.iconPng, local.iconPng)
      assert.ok(site.requests.every((r) => /^bytes=\d+-\d+$/.test(String(r.headers.range))), 'every request is a Range request')
      if (size > 1024 * 1024) assert.ok(source.bytesFetched < size, `${source.bytesFetched} of ${size} bytes fetched`)
    })
  }

  it('coalesces concurrent small reads of the same blocks into one request and caches them', async (t) => {
    const body = randomBytes(300 * 1024)
    const { url, size, site } = await served(t, { body })
    const source = new RangedSource({ fetcher: fetcherFor(t), url, size, etag: null, maxBytes: size })
    const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => source.read(1000 + i * 10, 100)))
    reads.forEach((bytes, i) => assert.ok(bytes.equals(body.subarray(1000 + i * 10, 1100 + i * 10))))
    assert.equal(site.requests.length, 1)
    assert.ok((await source.read(70_000, 200_000)).equals(body.subarray(70_000, 270_000)))
    assert.equal(site.requests.length, 2, 'one request for the missing blocks in between')
    assert.ok((await source.read(5, 10)).equals(body.subarray(5, 15)))
    assert.equal(site.requests.length, 2, 'cached')
  })

  it('stops at its byte budget with remote-read-limit', async (t) => {
    const { url, size } = await served(t, { body: randomBytes(512 * 1024) })
    const source = new RangedSource({ fetcher: fetcherFor(t), url, size, etag: null, maxBytes: 128 * 1024 })
    await source.read(0, 100)
    await assert.rejects(source.read(300_000, 200_000), (error) => isAirstripError(error, 'remote-read-limit') && error.details?.['reason'] === 'budget')
  })

  it('refuses answers that break the Range rules: a 200 instead of a 206, a body shorter than promised', async (t) => {
    const ignored = await served(t, { body: randomBytes(100_000), ranges: false })
    const source = new RangedSource({ fetcher: fetcherFor(t), url: ignored.url, size: ignored.size, etag: null, maxBytes: 1 << 20 })
    await assert.rejects(source.read(10, 10), (error) => isAirstripError(error, 'remote-read-failed') && /ignored the Range header/.test(error.message))
    assert.equal(source.violations.length, 1)

    const site = await startDeployment(t, null, {
      '/short.ipa': (_request, response) => {
        response.writeHead(206, { 'content-range': 'bytes 0-65535/100000', 'content-length': 65536 })
        response.write(Buffer.alloc(1000), () => response.socket?.destroy())
      },
    })
    const short = new RangedSource({ fetcher: fetcherFor(t), url: site.url('/short.ipa'), size: 100_000, etag: null, maxBytes: 1 << 20 })
    await assert.rejects(short.read(0, 10), (error) => isAirstripError(error, 'remote-read-failed') && /after 1000 of 65536 bytes/.test(error.message))
  })

  it('past the budget, an app with a huge executable is still read without its signature', async (t) => {
    const dir = tempDir(t)
    const path = join(dir, 'big.ipa')
    // A Mach-O whose signature sits after 3 MiB of code, stored uncompressed: reading it means fetching it all.
    const executable = toBuffer(buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: null, paddingBytes: 3 * 1024 * 1024 }))
    await buildIpa(path, {
      executable: null,
      extraEntries: [{ name: 'Payload/Example.app/Example', data: executable, compress: false }],
      profile: Buffer.from(buildProfilePlist({ kind: 'enterprise' })),
    })
    const { url, size } = await served(t, { body: readFileSync(path) })
    const source = new RangedSource({ fetcher: fetcherFor(t), url, size, etag: null, maxBytes: 1024 * 1024 })
    const outcome = await inspectWithin(source, NOW, createDeadline(10_000))
    assert.equal(outcome.state, 'read')
    assert.ok(outcome.state === 'read' && !outcome.signatureRead && /would fetch more than/.test(outcome.note ?? ''))
    assert.equal(outcome.state === 'read' && outcome.info.profile?.kind, 'enterprise')
    assert.ok(source.bytesFetched < 2 * 1024 * 1024, `${source.bytesFetched} bytes fetched`)
  })
})
