// Hostile deployments: each ends in a clear failed check within --timeout, never a hang or a crash.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { before, describe, it } from 'node:test'
import { fixture, tempDir } from '../support/fixtures.ts'
import { writeZip } from '../support/ipa-builder.ts'
import { chainPem, makePki, type TestPki } from './support/certificates.ts'
import { doctor, fileScope, layOutSite, pemFile, startDeployment, type Deployment, type DoctorRun, type Handler, type Site } from './support/deployment.ts'

const suite = fileScope()
const TIMEOUT_S = 2
/** Time allowed past --timeout for process work after the last request (parsing, reporting). */
const GRACE_MS = 4000
let pki: TestPki
let ipa: Buffer
let dir: string

before(async () => {
  pki = await makePki()
  ipa = readFileSync(fixture('ipa', 'bitbar-sample-latest-iOS.ipa'))
  dir = tempDir(suite, 'airstrip-doctor-hostile-')
})

async function deployment(t: { after(fn: () => unknown): void }): Promise<{ site: Deployment; urls: Site; run(url: string): Promise<DoctorRun & { ms: number }> }> {
  const site = await startDeployment(t, { cert: chainPem(pki.leaf, pki.intermediate), key: pki.leaf.keyPem })
  const urls = layOutSite(site, { ipa, bundleId: 'com.bitbar.BitBarSample', bundleVersion: '1.0', title: 'BitBar Sample' })
  const ca = pemFile(t, pki.root.certPem)
  return {
    site,
    urls,
    async run(url) {
      const started = performance.now()
      const result = await doctor(url, '--ca-file', ca, '--timeout', String(TIMEOUT_S), '--request-timeout', '1', '--now', '2026-06-01T00:00:00Z')
      return { ...result, ms: performance.now() - started }
    },
  }
}

function assertInTime(run: { ms: number }): void {
  assert.ok(run.ms < TIMEOUT_S * 1000 + GRACE_MS, `took ${Math.round(run.ms)} ms with --timeout ${TIMEOUT_S}`)
}

/** Writes filler for as long as the client reads. */
const endless = (type: string): Handler => (_request, response) => {
  response.writeHead(200, { 'content-type': type })
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const pump = (): void => {
    while (!response.destroyed && response.write(chunk));
  }
  response.on('drain', pump)
  pump()
}

/** Headers at once, then one byte every 100 ms, forever. */
const drip = (type: string, contentLength: number): Handler => (_request, response) => {
  response.writeHead(200, { 'content-type': type, 'content-length': contentLength })
  const timer = setInterval(() => response.write('<'), 100)
  response.on('close', () => clearInterval(timer))
}

describe('hostile responses', () => {
  it('an endless manifest body stops at the body cap', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/endless/manifest.plist'] = endless('text/xml')
    const result = await run(site.url('/endless/manifest.plist'))
    assert.equal(result.status('manifest-invalid'), 'fail')
    assert.match(result.check('manifest-invalid').message, /far too large: the body goes on past 1048576 bytes/)
    assert.equal(result.code, 1)
    assertInTime(result)
  })

  it('a gzip bomb as the manifest stops at the cap; an honest gzip manifest is read', async (t) => {
    const { site, urls, run } = await deployment(t)
    site.routes['/bomb/manifest.plist'] = { type: 'text/xml', body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)), headers: { 'content-encoding': 'gzip' } }
    const bomb = await run(site.url('/bomb/manifest.plist'))
    assert.equal(bomb.status('manifest-invalid'), 'fail')
    assert.match(bomb.check('manifest-invalid').message, /inflates past 1048576 bytes/)
    assertInTime(bomb)
    site.routes['/app/manifest.plist'] = { type: 'text/xml', body: urls.manifest, gzip: true, headers: { 'cache-control': 'no-store' } }
    const honest = await run(urls.manifestUrl)
    assert.equal(honest.status('manifest-invalid'), 'pass')
  })

  it('a manifest that drips one byte at a time times out', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/drip/manifest.plist'] = drip('text/xml', 100_000)
    const result = await run(site.url('/drip/manifest.plist'))
    assert.equal(result.status('manifest-unreachable'), 'fail')
    assert.match(result.check('manifest-unreachable').message, /no complete answer within 1 s/)
    assert.equal(result.code, 2, 'the target never answered')
    assertInTime(result)
  })

  it('huge response headers are refused', async (t) => {
    const { site, run } = await deployment(t)
    site.routes['/headers/manifest.plist'] = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/xml', 'x-filler': 'a'.repeat(256 * 1024) }).end('<plist/>')
    }
    const result = await run(site.url('/headers/manifest.plist'))
    assert.equal(result.status('manifest-unreachable'), 'fail')
    assert.match(result.check('manifest-unreachable').message, /headers are larger than 64 KiB/)
    assertInTime(result)
  })

  it('a 10 GB Content-Length behind the .ipa URL (zeros, Range ignored) is not downloaded', async (t) => {
    const { site, urls, run } = await deployment(t)
    const tenGb = 10 * 1024 * 1024 * 1024
    site.routes['/app/App.ipa'] = (request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tenGb })
      if (request.method === 'HEAD') return void response.end()
      const zeros = Buffer.alloc(256 * 1024)
      const pump = (): void => {
        while (!response.destroyed && response.write(zeros));
      }
      response.on('drain', pump)
      pump()
    }
    const result = await run(urls.manifestUrl)
    assert.equal(result.status('ipa-corrupt'), 'fail')
    assert.match(result.check('ipa-corrupt').message, /does not start like a ZIP archive \(first bytes 00000000\)/)
    assert.equal(result.status('ipa-no-range'), 'warn')
    assert.equal(result.status('large-ipa-cellular'), 'warn')
    assert.equal(result.status('app-store-signed'), 'skip')
    assertInTime(result)
  })

  it('a zip bomb behind the .ipa URL: Info.plist inflating to 64 MiB', async (t) => {
    const { site, urls, run } = await deployment(t)
    const path = join(dir, 'bomb.ipa')
    const huge = 64 * 1024 * 1024
    await writeZip(path, [{ name: 'Payload/Example.app/Info.plist', stream: () => Readable.from(zeros(huge)), size: huge }])
    const bomb = readFileSync(path)
    assert.ok(bomb.length < 1024 * 1024, 'the bomb itself is small')
    site.routes['/app/App.ipa'] = { body: bomb }
    const result = await run(urls.manifestUrl)
    assert.equal(result.status('ipa-corrupt'), 'fail')
    assert.match(result.check('ipa-corrupt').message, /entry-too-large/)
    assertInTime(result)
  })

  it('an .ipa whose every answer drips is cut off at the time limit', async (t) => {
    const { site, urls, run } = await deployment(t)
    site.routes['/app/App.ipa'] = drip('application/octet-stream', ipa.length)
    const result = await run(urls.manifestUrl)
    assert.equal(result.status('ipa-unreachable'), 'fail')
    assert.match(result.check('ipa-unreachable').message, /no complete answer|time limit/)
    assertInTime(result)
  })
})

function* zeros(total: number): Generator<Buffer> {
  const chunk = Buffer.alloc(1024 * 1024)
  for (let left = total; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left)
}
