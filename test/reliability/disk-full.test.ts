// Disk full: the data dir on a small tmpfs (mounted here when running as root). An upload that
// does not fit gets 507 `insufficient-storage` with a clear message — raw and multipart bodies,
// and a disk that fills at the database write — the partial file is gone, the server stays up,
// the earlier build stays intact and installable, and an upload that fits works again.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { buildIpa } from '../support/ipa-builder.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { recordResult } from './support/results.ts'
import { cli, downloadSha256, get, inspectDataDir, send, spawnServer, upload } from './support/server-process.ts'

const TMPFS_MIB = 48

/** Mounts a tmpfs of `mib` MiB; null (with the reason) when this process may not. */
function mountTmpfs(t: { after(fn: () => unknown): void }, mib: number): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'not running as root: mounting a small tmpfs for the data dir needs root (run the suite as root, or in a container with CAP_SYS_ADMIN)' }
  const dir = mkdtempSync(join(tmpdir(), 'airstrip-diskfull-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    return { skip: `mount -t tmpfs failed (${String((error as { stderr?: Buffer }).stderr ?? error).trim()}): no permission to mount in this environment` }
  }
  t.after(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir }
}

const freeBytes = (dir: string): number => {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}

test(`disk full: the data dir on a ${TMPFS_MIB} MiB tmpfs; uploads that do not fit get 507, nothing else changes`, { timeout: 120_000 }, async (t) => {
  const mounted = mountTmpfs(t, TMPFS_MIB)
  if ('skip' in mounted) return t.skip(mounted.skip)
  const dataDir = join(mounted.dir, 'data')
  const work = mkdtempSync(join(tmpdir(), 'airstrip-diskfull-files-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const token = (await cli(['token', 'create', '--name', 'disk-full', '--data-dir', dataDir])).trim()
  const [port] = (await freeLoopbackPorts(1)) as [number]
  const server = await spawnServer(t, dataDir, port, ['--min-free-disk', '0'])
  const auth = { authorization: `Bearer ${token}` }
  const ipa = async (name: string, paddingBytes: number): Promise<{ path: string; sha256: string }> => {
    const path = join(work, name)
    await buildIpa(path, { info: { CFBundleVersion: name }, files: [{ name: 'padding.bin', data: randomBytes(paddingBytes) }] })
    return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }
  }

  // An earlier build, which must come through untouched.
  const first = await ipa('first.ipa', 4 * 1024 * 1024)
  const created = await upload(server, token, first.path)
  assert.equal(created.status, 201, created.body.toString())
  const firstBuild = JSON.parse(created.body.toString()) as { id: string; installPageUrl: string }
  const freeBefore = freeBytes(mounted.dir)

  const refusals: Array<{ how: string; status: number; error: string; message: string }> = []
  const expect507 = (how: string, reply: { status: number; body: Buffer }): void => {
    assert.equal(reply.status, 507, `${how}: ${reply.status} ${reply.body}`)
    const body = JSON.parse(reply.body.toString()) as { error: string; message: string }
    assert.equal(body.error, 'insufficient-storage')
    assert.match(body.message, /disk space/, 'the message says what is wrong')
    refusals.push({ how, status: reply.status, ...body })
  }
  const assertNothingKept = (how: string): void => {
    const state = inspectDataDir(dataDir)
    assert.deepEqual(state.tempFiles, [], `${how}: the partial upload is removed`)
    assert.deepEqual(state.builds.map((b) => b.id), [firstBuild.id], `${how}: no build recorded`)
    assert.equal(state.integrity, 'ok')
  }

  // 1. A raw body larger than the free space: fails while staging, the rest of the body is read so the answer arrives.
  const big = await ipa('big.ipa', TMPFS_MIB * 1024 * 1024)
  expect507('raw body, disk full while staging', await upload(server, token, big.path))
  assertNothingKept('raw body')
  assert.ok(freeBytes(mounted.dir) >= freeBefore - 1024 * 1024, 'the space taken by the partial file is given back')

  // 2. The same as multipart/form-data (curl -F file=@…).
  const boundary = `----airstrip${randomBytes(8).toString('hex')}`
  const multipart = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="notes"\r\n\r\nwill not fit\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.ipa"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    readFileSync(big.path),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  expect507('multipart, disk full while staging', await send(`${server.url}/api/v1/builds`, { method: 'POST', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(multipart.length) }, body: multipart }))
  assertNothingKept('multipart')

  // 3. The disk fills after staging (icon, commit, or the database write): a filler leaves room for the upload and little more.
  const small = await ipa('small.ipa', 256 * 1024)
  const filler = join(mounted.dir, 'filler')
  writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes(mounted.dir) - readFileSync(small.path).length - 8 * 1024)))
  const tight = await upload(server, token, small.path)
  rmSync(filler)
  if (tight.status === 201) {
    // The last pages happened to suffice; what matters is that nothing half-done is left.
    assert.equal(inspectDataDir(dataDir).integrity, 'ok')
  } else {
    expect507('disk full after staging', tight)
    const state = inspectDataDir(dataDir)
    assert.deepEqual(state.tempFiles, [], 'no temp file after a late failure')
    assert.deepEqual(state.builds.map((b) => b.id), [firstBuild.id])
  }

  // The server is up, the earlier build is intact and installable (page, manifest, byte-identical .ipa).
  assert.equal(server.child.exitCode, null, 'the server is still running')
  assert.equal((await get(`${server.url}/healthz`)).status, 200)
  assert.equal((await get(firstBuild.installPageUrl)).status, 200)
  assert.equal(await downloadSha256(server, token, firstBuild.id), first.sha256)

  // With space back, an upload that fits is accepted.
  const after = await ipa('after.ipa', 1024 * 1024)
  const accepted = await upload(server, token, after.path)
  assert.equal(accepted.status, 201, accepted.body.toString())
  assert.equal(await downloadSha256(server, token, JSON.parse(accepted.body.toString()).id), after.sha256)

  // A restart (startup recovery) leaves a consistent data dir: no blob without its build, even after a late failure.
  await server.kill9()
  const restarted = await spawnServer(t, dataDir, port, ['--min-free-disk', '0'])
  const state = inspectDataDir(dataDir)
  assert.deepEqual(state.blobsWithoutBuild, [])
  assert.deepEqual(state.buildsWithoutBlob, [])
  assert.equal(await downloadSha256(restarted, token, firstBuild.id), first.sha256)
  await restarted.stop()
  recordResult('disk-full', { tmpfsMiB: TMPFS_MIB, refusals, lateFailure: tight.status, serverStayedUp: true })
})
