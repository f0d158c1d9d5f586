// src/store/disk-full.ts: which errors mean "the disk is full", and how a staged upload is refused
// (partial file removed at once, the rest of the body read so the client gets its 507). The whole
// path on a real full tmpfs: test/reliability/disk-full.test.ts (root only).
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { asInsufficientStorage, isDiskFull, refuseForFullDisk } from '../../src/store/disk-full.ts'
import { tempDir } from '../support/fixtures.ts'

const errno = (code: string): Error => Object.assign(new Error(`${code}: simulated`), { code })

test('ENOSPC, EDQUOT and SQLITE_FULL are a full disk; other errors pass through unchanged', () => {
  const sqliteFull = Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 })
  for (const error of [errno('ENOSPC'), errno('EDQUOT'), sqliteFull]) {
    assert.equal(isDiskFull(error), true)
    const mapped = asInsufficientStorage(error)
    assert.ok(isAirstripError(mapped, 'insufficient-storage'))
    assert.equal(mapped.cause, error)
    assert.match(mapped.message, /disk space/)
  }
  const busy = Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 })
  for (const error of [errno('EIO'), errno('EACCES'), busy, new TypeError('x'), 'a string']) {
    assert.equal(isDiskFull(error), false)
    assert.equal(asInsufficientStorage(error), error)
  }
})

test('a real SQLITE_FULL from node:sqlite is recognised', (t) => {
  const db = new DatabaseSync(join(tempDir(t), 'tiny.db'))
  db.exec('PRAGMA max_page_count = 8; create table t (v blob)')
  let caught: unknown
  try {
    for (let i = 0; i < 100; i++) db.prepare('insert into t values (?)').run(Buffer.alloc(4096))
  } catch (error) {
    caught = error
  } finally {
    db.close()
  }
  assert.equal(isDiskFull(caught), true, String(caught))
})

test('refusing a staged upload: the partial file goes at once, the rest of the body is read, the answer is insufficient-storage', async (t) => {
  const partial = join(tempDir(t), 'partial.tmp')
  writeFileSync(partial, 'the part that fitted')
  let pulled = 0
  const body = Readable.from((function* () {
    for (let i = 0; i < 10; i++) {
      pulled++
      yield Buffer.alloc(1024)
    }
  })())
  const error = await refuseForFullDisk(body, partial, 1024 * 1024, errno('ENOSPC'))
  assert.ok(isAirstripError(error, 'insufficient-storage'))
  assert.equal(existsSync(partial), false)
  assert.equal(pulled, 10, 'the whole body was read')
})

test('refusing a staged upload whose remaining body is larger than allowed: it is cut off, not read to the end', async (t) => {
  const partial = join(tempDir(t), 'partial.tmp')
  writeFileSync(partial, 'x')
  let pulled = 0
  const body = Readable.from((function* () {
    for (let i = 0; i < 1000; i++) {
      pulled++
      yield Buffer.alloc(1024)
    }
  })())
  const error = await refuseForFullDisk(body, partial, 10 * 1024, errno('ENOSPC'))
  assert.ok(isAirstripError(error, 'insufficient-storage'))
  assert.ok(pulled < 100, `stopped early (${pulled} pieces)`)
  assert.equal(body.destroyed, true)
})
