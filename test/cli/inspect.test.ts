// The real `airstrip` command, spawned as users run it.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'
import { fixture, tempDir } from '../support/fixtures.ts'

const BIN = fileURLToPath(new URL('../../bin/airstrip.js', import.meta.url))

function airstrip(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

test('inspect --json prints the result on stdout and exits 0, problems included', async () => {
  const { code, stdout, stderr } = await airstrip('inspect', fixture('ipa', 'appinfo-ipad.ipa'), '--json', '--now', '2026-11-26T00:00:00Z')
  assert.equal(code, 0, stderr)
  const info = JSON.parse(stdout)
  assert.equal(info.bundleId, 'com.icyleaf.bundle')
  assert.equal(info.profile.kind, 'app-store')
  assert.ok(info.problems.some((p: { code: string }) => p.code === 'app-store-signed'))
  assert.equal(info.sha256.length, 64)
})

test('the readable summary names the app, its signing and its problems', async () => {
  const { code, stdout } = await airstrip('inspect', fixture('ipa', 'lagunitas-Sample.ipa'), '--now', '2026-11-26T00:00:00Z')
  assert.equal(code, 0)
  assert.match(stdout, /^Sample 2\.2 \(13\)/)
  assert.match(stdout, /development · "iOS Team Provisioning Profile: \*"/)
  assert.match(stdout, /profile-expired/)
})

test('--icon writes a standard PNG converted from CgBI', async (t) => {
  const out = join(tempDir(t), 'icon.png')
  const { code } = await airstrip('inspect', fixture('ipa', 'calabash-CalSmoke.ipa'), '--icon', out, '--no-hash')
  assert.equal(code, 0)
  const png = PNG.sync.read(readFileSync(out))
  assert.equal(png.width, 180)
  assert.equal(png.height, 180)
})

test('input that is not a usable IPA: exit 2 and one line on stderr naming the code', async () => {
  for (const [folder, name, errorCode] of [
    ['ipa-malformed', 'fastlane-not-an-ipa.ipa', 'not-a-zip'],
    ['ipa-malformed', 'fastlane-ContainsWatchApp.ipa', 'no-app-bundle'],
    ['ipa-malformed', 'fastlane-with_no_swift.ipa', 'no-info-plist'],
  ] as const) {
    const { code, stdout, stderr } = await airstrip('inspect', fixture(folder, name))
    assert.equal(code, 2, name)
    assert.equal(stdout, '')
    assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`)
    assert.match(stderr, new RegExp(`^airstrip: ${errorCode}: `))
    assert.doesNotMatch(stderr, /\n\s+at \S+ \(/, 'no stack trace')
  }
})

test('wrong usage exits 64', async () => {
  assert.equal((await airstrip('inspect')).code, 64)
  assert.equal((await airstrip('inspect', fixture('ipa', 'appinfo-iphone.ipa'), '--now', 'yesterday')).code, 64)
})
