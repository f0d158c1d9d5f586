// `airstrip backup` while the server takes uploads, `airstrip restore` into a new data dir, and a
// restore that refuses damaged or hostile archives without touching anything.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { TarWriter } from '../../src/ops/tar-archive.ts'
import { runCli as cli } from '../support/cli.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startServer, type TestServer } from '../support/server.ts'

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** Every file under `dir`, relative path → SHA-256. */
function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name).slice(dir.length + 1), sha256(readFileSync(join(entry.parentPath, entry.name))))
  }
  return files
}

async function ipaOf(server: TestServer, buildId: string): Promise<{ manifest: string; ipa: Buffer }> {
  const build = (await server.request(`${server.url}/api/v1/builds/${buildId}`, { headers: { authorization: `Bearer ${server.apiToken}` } })).json()
  const manifest = (await server.request(build.manifestUrl)).text()
  const ipaUrl = String(/<string>(https:[^<]+\.ipa)<\/string>/.exec(manifest)?.[1]).replaceAll('&amp;', '&')
  const download = await server.request(ipaUrl)
  assert.equal(download.status, 200)
  return { manifest, ipa: download.body }
}

test('a backup taken during uploads restores to a new data dir with every build byte-identical and installable', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t)
  const dir = tempDir(t)
  const originals = new Map<string, Buffer>()
  for (const name of ['ipaserver-ipa.ipa', 'appinfo-iphone.ipa', 'lagunitas-Sample.ipa']) {
    const response = await server.upload(fixture('ipa', name))
    assert.equal(response.status, 201, response.text())
    originals.set(response.json().id, readFileSync(fixture('ipa', name)))
  }
  const big = join(dir, 'big.ipa')
  await buildIpa(big, { info: { CFBundleIdentifier: 'com.example.big' }, files: [{ name: 'payload.bin', data: randomBytes(6 * 1024 * 1024) }] })
  const bigBytes = readFileSync(big)

  // Uploads in flight while the backup runs: one trickling in slowly, one finishing during it.
  let released = false
  const slow = server.request(`${server.url}/api/v1/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream', 'content-length': String(bigBytes.length) },
    body: () =>
      Readable.from(
        (async function* () {
          for (let at = 0; at < bigBytes.length; at += 256 * 1024) {
            if (at > 0 && !released) while (!released) await sleep(20)
            yield bigBytes.subarray(at, at + 256 * 1024)
          }
        })(),
      ),
  })
  const quick = server.upload(fixture('ipa', 'bitbar-BitBarSampleApp.ipa'))
  await sleep(100)
  const archive = join(dir, 'airstrip-backup.tar')
  const backup = await cli(['backup', archive, '--data-dir', server.dataDir])
  released = true
  assert.equal(backup.code, 0, backup.stderr)
  assert.match(backup.stdout, /^Backed up .* to .*airstrip-backup\.tar \(.*\): the database and \d+ other file\(s\), \d+ build file\(s\)/)
  const slowBuild = (await slow).json()
  assert.ok(slowBuild.id, 'the slow upload still completed')
  const quickBuild = (await quick).json()
  originals.set(quickBuild.id, readFileSync(fixture('ipa', 'bitbar-BitBarSampleApp.ipa')))
  assert.equal(statSync(archive).mode & 0o777, 0o600, 'the archive holds keys: private')
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no temp files left')
  const listing = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n')
  assert.equal(listing[0], 'airstrip-backup/manifest.json', 'a plain tar file, manifest first')

  const restoredDir = join(tempDir(t), 'restored')
  const restore = await cli(['restore', archive, '--data-dir', restoredDir])
  assert.equal(restore.code, 0, restore.stderr)
  assert.match(restore.stdout, /every hash matched/)

  const again = await startServer(t, { dataDir: restoredDir })
  const listed = (await again.request(`${again.url}/api/v1/builds?limit=100`, { headers: { authorization: `Bearer ${again.apiToken}` } })).json().builds.map((b: { id: string }) => b.id)
  // The snapshot holds the builds committed when it was taken: the first three for sure, the slow one not.
  for (const id of [...originals.keys()].slice(0, 3)) assert.ok(listed.includes(id), `build ${id} restored`)
  assert.ok(!listed.includes(slowBuild.id), 'the upload still streaming at snapshot time is not in the backup')
  for (const id of listed) {
    const { manifest, ipa } = await ipaOf(again, id)
    assert.ok(ipa.equals(originals.get(id)!), `build ${id} byte-identical`)
    assert.match(manifest, /<key>bundle-identifier<\/key>/)
  }
  // The URL-signing key and the dev CA came along: links already handed out and trusted devices keep working.
  const oldManifestUrl = (await server.request(`${server.url}/api/v1/builds/${listed[0]}`, { headers: { authorization: `Bearer ${server.apiToken}` } })).json().manifestUrl as string
  assert.equal((await again.request(oldManifestUrl.replace(server.url, again.url))).status, 200)
  assert.ok(again.app.services.devCaDer!.equals(server.app.services.devCaDer!))
})

test('restore checks every hash first: a damaged or hostile archive changes nothing', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  assert.equal((await server.upload(fixture('ipa', 'ipaserver-ipa.ipa'))).status, 201)
  const dir = tempDir(t)
  const archive = join(dir, 'good.tar')
  assert.equal((await cli(['backup', archive, '--data-dir', server.dataDir])).code, 0)

  // A data dir that exists already (the old one), to be replaced with --force.
  const target = join(tempDir(t), 'data')
  assert.equal((await cli(['restore', archive, '--data-dir', target])).code, 0)
  const before = tree(target)

  const bytes = readFileSync(archive)
  const blobAt = bytes.indexOf(Buffer.from('airstrip-backup/blobs/')) + 512 + 100
  const damaged = join(dir, 'damaged.tar')
  writeFileSync(damaged, Buffer.concat([bytes.subarray(0, blobAt), Buffer.from([bytes[blobAt]! ^ 0xff]), bytes.subarray(blobAt + 1)]))
  const truncated = join(dir, 'truncated.tar')
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 4096))
  const hostile = join(dir, 'hostile.tar')
  const handle = await open(hostile, 'w')
  const writer = new TarWriter(handle)
  const manifest = { format: 'airstrip-backup', version: 1, createdAt: new Date().toISOString(), files: [{ path: '../escape', size: 1, sha256: sha256(Buffer.from('x')), mode: 0o600 }], blobs: [] }
  await writer.addBuffer('airstrip-backup/manifest.json', Buffer.from(JSON.stringify(manifest)), 0o600, new Date())
  await writer.addBuffer('airstrip-backup/data/../escape', Buffer.from('x'), 0o600, new Date())
  await writer.finish()
  await handle.close()

  const cases: [string, RegExp][] = [
    [damaged, /backup-corrupt: blob [0-9a-f]{64}: its content does not match its hash/],
    [truncated, /backup-corrupt: .*(truncated|cut short|end)/],
    [hostile, /backup-corrupt: unsafe or repeated file name in the manifest: "\.\.\/escape"/],
    [join(dir, 'good.tar.missing'), /file-not-found/],
  ]
  for (const [file, message] of cases) {
    const result = await cli(['restore', file, '--data-dir', target, '--force'])
    assert.equal(result.code, 2, basename(file))
    assert.match(result.stderr, message)
    assert.deepEqual(tree(target), before, `${basename(file)}: the data dir is untouched`)
    assert.deepEqual(readdirSync(dirname(target)).filter((n) => n !== 'data'), [], `${basename(file)}: nothing left beside it`)
  }
  assert.ok(!existsSync(join(dirname(target), 'escape')))

  const refused = await cli(['restore', archive, '--data-dir', target])
  assert.equal(refused.code, 2)
  assert.match(refused.stderr, /data-dir-not-empty: .* is not empty: stop the server, then pass --force/)
  const forced = await cli(['restore', archive, '--data-dir', target, '--force'])
  assert.equal(forced.code, 0, forced.stderr)
  const aside = /moved to (\S+)\.\n/.exec(forced.stdout)?.[1]
  assert.ok(aside && existsSync(join(aside, 'airstrip.db')), 'the previous data dir was moved aside, not deleted')
})

test('backup refuses a data dir without a database instead of creating one', async (t) => {
  const empty = tempDir(t)
  const result = await cli(['backup', join(empty, 'x.tar'), '--data-dir', join(empty, 'typo')])
  assert.equal(result.code, 2)
  assert.match(result.stderr, /file-not-found: no Airstrip database in .*typo \(check --data-dir\)/)
  assert.deepEqual(readdirSync(empty), [], 'nothing created')
})
