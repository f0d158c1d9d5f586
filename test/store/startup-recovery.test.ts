// Startup recovery (src/store/startup-recovery.ts), on a data dir arranged the way a crash leaves
// it: staged uploads and half-written temp files, a blob whose build was never recorded, and a
// build whose notifications were never recorded. test/reliability/crash-consistency.test.ts does
// the same with real kills.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { test } from 'node:test'
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'

test('startup recovery: temp files, orphan blobs and unannounced builds are dealt with; recorded builds are kept', async (t) => {
  const dataDir = tempDir(t, 'airstrip-recovery-')
  const work = tempDir(t)
  const config = loadConfig({ dataDir, host: '127.0.0.1', port: '1', insecureHttp: true, publicUrl: 'http://127.0.0.1:1', logLevel: 'silent' })
  const first = await createApp(config)
  const { token } = await first.services.meta.createApiToken('recovery')
  const ids: string[] = []
  for (const version of ['1', '2']) {
    const path = join(work, `${version}.ipa`)
    await buildIpa(path, { info: { CFBundleVersion: version }, files: [{ name: 'x.bin', data: randomBytes(4096) }] })
    const reply = await first.server.inject({ method: 'POST', url: '/api/v1/builds', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, payload: readFileSync(path) })
    assert.equal(reply.statusCode, 201, reply.body)
    ids.push(reply.json<{ id: string }>().id)
  }
  const [recent, old] = ids as [string, string]
  await first.close()

  // What a crash leaves behind.
  const staged = join(dataDir, 'blobs', 'tmp', `${randomBytes(16).toString('hex')}.tmp`)
  writeFileSync(staged, 'half an upload')
  const keyTemp = join(dataDir, 'url-signing.key.4242.tmp')
  writeFileSync(keyTemp, 'half a key')
  mkdirSync(join(dataDir, 'certs'), { recursive: true })
  const certTemp = join(dataDir, 'certs', '.server.key.4242.0123456789ab.tmp')
  writeFileSync(certTemp, 'half a certificate')
  const orphanKey = 'ab'.repeat(32)
  mkdirSync(join(dataDir, 'blobs', 'sha256', 'ab', 'ab'), { recursive: true })
  const orphan = join(dataDir, 'blobs', 'sha256', 'ab', 'ab', orphanKey)
  writeFileSync(orphan, 'committed, never recorded')
  const unrelated = join(dataDir, 'notes.tmp.txt')
  writeFileSync(unrelated, 'not ours to remove')
  const db = new DatabaseSync(join(dataDir, 'airstrip.db'))
  // Both builds lose their event (killed between the two transactions); one of them is two days old.
  db.exec("delete from notification_deliveries; delete from notification_events where type = 'build.created'")
  db.prepare('update builds set created_at = ? where id = ?').run(new Date(Date.now() - 2 * 86_400_000).toISOString(), old)
  db.close()

  const app = await createApp(config)
  try {
    assert.equal(existsSync(staged), false, 'staged upload removed')
    assert.equal(existsSync(keyTemp), false, 'key temp file removed')
    assert.equal(existsSync(certTemp), false, 'certificate temp file removed')
    assert.equal(existsSync(orphan), false, 'orphan blob removed')
    assert.equal(existsSync(unrelated), true, 'a file that is not one of ours stays')
    for (const id of [recent, old]) {
      const build = await app.services.meta.getBuild(id)
      assert.ok(build, `build ${id} kept`)
      assert.ok(await app.services.blobs.stat(build.sha256), `blob of ${id} kept`)
    }
    const events = new DatabaseSync(join(dataDir, 'airstrip.db'), { readOnly: true })
    const keys = (events.prepare("select event_key from notification_events where type = 'build.created'").all() as Array<{ event_key: string }>).map((r) => r.event_key)
    events.close()
    assert.deepEqual(keys, [`build.created:${recent}`], 'the recent build is announced; the two-day-old one is left alone')
  } finally {
    await app.close()
  }
})
