import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { CHECK_IDS } from '../../src/doctor/checks/index.ts'
import { parseItmsLink } from '../../src/doctor/itms-link-parse.ts'
import { readManifest } from '../../src/doctor/manifest-read.ts'
import { findItmsLinks } from '../../src/doctor/page-links.ts'
import { buildManifest } from '../../src/ota/manifest.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { doctor } from './support/deployment.ts'

function cli(...args: string[]): Promise<CliRun> {
  return runCli(args, process.env)
}

describe('airstrip doctor on the command line', () => {
  it('usage errors exit 2 with one line naming the problem', async (t) => {
    const dir = tempDir(t)
    writeFileSync(join(dir, 'empty.pem'), 'nothing here\n')
    const cases: Array<[string[], RegExp]> = [
      [['doctor'], /usage-error: missing required argument 'target'/],
      [['doctor', 'https://x.test/', '--bogus'], /usage-error: unknown option '--bogus'/],
      [['doctor', 'https://x.test/', '--now', 'yesterday'], /usage-error: --now "yesterday"/],
      [['doctor', 'https://x.test/', '--timeout', '-1'], /usage-error: --timeout "-1"/],
      [['doctor', 'https://x.test/', '--ca-file', join(dir, 'missing.pem')], /usage-error: --ca-file .*ENOENT/],
      [['doctor', 'https://x.test/', '--ca-file', join(dir, 'empty.pem')], /usage-error: --ca-file .*no PEM certificate/],
      [['doctor', join(dir, 'nothing.ipa')], /usage-error: .* is not a URL, an itms-services:\/\/ link or a readable/],
      [['doctor', 'https://x.test/', '--udid', '1234'], /invalid-udid/],
    ]
    for (const [args, expected] of cases) {
      const { code, stdout, stderr } = await cli(...args)
      assert.equal(code, 2, args.join(' '))
      assert.equal(stdout, '')
      assert.match(stderr, expected)
      assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`)
    }
    assert.equal((await cli('doctor', '--help')).code, 0)
  })

  it('--json prints { target, checks } with every check once, in a stable order', async () => {
    const run = await doctor(fixture('ipa', 'appinfo-embedded.ipa'), '--now', '2026-06-01T00:00:00Z')
    assert.deepEqual(run.checks.map((c) => c.id), [...CHECK_IDS])
    for (const check of run.checks) {
      assert.deepEqual(Object.keys(check).sort(), ['evidence', 'fix', 'id', 'message', 'severity', 'status', 'symptom', 'title'])
      assert.ok(['pass', 'fail', 'warn', 'skip'].includes(check.status))
      assert.ok(['error', 'warning', 'info'].includes(check.severity))
      assert.equal(check.fix === null, check.status === 'pass' || check.status === 'skip')
    }
    // A local .ipa: the build checks run, the network ones skip. This enterprise build expired in 2022.
    assert.equal(run.status('profile-expired'), 'fail')
    assert.equal(run.status('certificate-expired'), 'fail')
    assert.equal(run.status('manifest-unreachable'), 'skip')
    assert.equal(run.code, 1)
  })
})

describe('the pure readers', () => {
  it('parseItmsLink accepts what itmsServicesUrl writes and names each defect', () => {
    const manifest = 'https://ota.example.com/m/abc/manifest.plist?x=1&y=2'
    const good = parseItmsLink(`itms-services://?action=download-manifest&url=${encodeURIComponent(manifest)}`, 'argument')
    assert.deepEqual(good.findings, [])
    assert.equal(good.manifestUrl, manifest)
    const defects: Array<[string, RegExp]> = [
      ['itms-services://?action=download-manifest&amp;url=https%3A%2F%2Fa.test%2Fm.plist', /literal "&amp;"/],
      ['itms-services://ota.example.com?action=download-manifest&url=https%3A%2F%2Fa.test%2Fm.plist', /host/],
      ['itms-services://?action=download-manifest', /no url=/],
      ['itms-services://?action=install&url=https%3A%2F%2Fa.test%2Fm.plist', /"install", not download-manifest/],
      ['itms-services://?action=download-manifest&url=https%3A%2F%2Fa.test%2Fmy%20app.plist', /cannot use the manifest URL/],
      ['itms-services://?action=download-manifest&url=https%3A%2F%2Fa.test%2F%E0', /invalid percent-encoding/],
      ['https://a.test/m.plist', /not an itms-services: link/],
    ]
    for (const [link, expected] of defects) {
      const parsed = parseItmsLink(link, 'argument')
      assert.ok(parsed.findings.some((f) => f.severity === 'error' && expected.test(f.message)), `${link}: ${JSON.stringify(parsed.findings)}`)
    }
  })

  it('findItmsLinks decodes attributes, keeps script text raw, and stays linear on hostile HTML', () => {
    const links = findItmsLinks(
      `<meta http-equiv="refresh" content="0; url=itms-services://?action=download-manifest&amp;url=a"><a href='itms-services://?action=download-manifest&#38;url=b'>x</a>` +
        `<script>if (a < b) go("itms-services:\\/\\/?action=download-manifest\\x26url=c")</script><!-- <a href="itms-services://hidden"> -->`,
    )
    assert.deepEqual(links, [
      { value: 'itms-services://?action=download-manifest&url=a', context: 'attribute' },
      { value: 'itms-services://?action=download-manifest&url=b', context: 'attribute' },
      { value: 'itms-services://?action=download-manifest&url=c', context: 'script' },
    ])
    // ~100 ms idle; a quadratic scan of these 1.5 MB would take many minutes, so a generous hang
    // guard is enough (a loaded CI machine can be many times slower than idle).
    const started = performance.now()
    findItmsLinks('<a '.repeat(300_000) + '<script>'.repeat(100_000) + '<!--'.repeat(100_000))
    assert.ok(performance.now() - started < 20_000, 'hostile markup is scanned in one pass')
  })

  it('readManifest accepts what buildManifest writes', () => {
    const xml = buildManifest({ ipaUrl: 'https://a.test/App.ipa', iconUrl: 'https://a.test/i.png', bundleId: 'com.example.app', bundleVersion: '1.0', title: 'A & B', sha256: 'ab'.repeat(32) })
    const facts = readManifest(Buffer.from(xml))
    assert.deepEqual(facts.findings, [])
    assert.equal(facts.title, 'A & B')
    assert.equal(facts.hashes?.whole, 'ab'.repeat(32))
    assert.equal(facts.images.length, 2)
  })
})
