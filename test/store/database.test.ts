import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { Kysely, sql } from 'kysely'
import { MIGRATIONS, migrateToLatest, openDatabase } from '../../src/store/database.ts'
import type { Database } from '../../src/store/database.ts'
import { createSqliteMetaStore } from '../../src/store/meta-store.ts'
import { adaptDatabaseSync, createSqliteDialect } from '../../src/store/sqlite-dialect.ts'
import { sampleBuild } from './meta-store-adapters.ts'

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airstrip-db-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

describe('openDatabase (sqlite)', () => {
  it('creates the file and its folder, migrates once, and keeps data across reopen', async (t) => {
    const path = join(await tempDir(t), 'nested', 'airstrip.db')
    const first = createSqliteMetaStore(await openDatabase(path))
    const { build } = await first.insertBuild(sampleBuild('com.example.persist'))
    await first.close()

    for (let i = 0; i < 2; i++) {
      const db = await openDatabase(path)
      const meta = createSqliteMetaStore(db)
      try {
        assert.deepEqual(await meta.getBuild(build.id), build)
        const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
        assert.deepEqual(ran.rows.map((row) => row.name), Object.keys(MIGRATIONS))
      } finally {
        await meta.close()
      }
    }
  })

  it('sets WAL, synchronous FULL, foreign keys and a busy timeout', async (t) => {
    const db = await openDatabase(join(await tempDir(t), 'airstrip.db'))
    t.after(() => db.destroy())
    const pragma = async (name: string): Promise<unknown> => Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0]
    assert.equal(await pragma('journal_mode'), 'wal')
    assert.equal(await pragma('synchronous'), 2)
    assert.equal(await pragma('foreign_keys'), 1)
    assert.equal(await pragma('busy_timeout'), 5000)
    const orphan = { ...sampleBuildRow(), app_id: 'no-such-app' }
    await assert.rejects(db.insertInto('builds').values(orphan).execute(), /FOREIGN KEY/)
  })

  it('names the migration that failed and rolls its whole batch back', async (t) => {
    const db = new Kysely<Database>({ dialect: createSqliteDialect(join(await tempDir(t), 'airstrip.db')) })
    t.after(() => db.destroy())
    await migrateToLatest(db, MIGRATIONS)
    const next = {
      '2099-01-01-0001-fine': { up: (trx: Kysely<unknown>) => sql`create table fine (x text)`.execute(trx).then(() => undefined) },
      '2099-01-01-0002-broken': {
        async up(trx: Kysely<unknown>) {
          await sql`create table half_done (x text)`.execute(trx)
          await sql`this is not sql`.execute(trx)
        },
      },
    }
    await assert.rejects(migrateToLatest(db, { ...MIGRATIONS, ...next }), (error: Error) => {
      assert.match(error.message, /^database migration "2099-01-01-0002-broken" failed: .*syntax error/)
      assert.ok(error.cause instanceof Error)
      return true
    })
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`.execute(db)
    const names = tables.rows.map((row) => row.name)
    assert.ok(names.includes('builds'), 'migrations applied before stay applied')
    assert.ok(!names.includes('fine') && !names.includes('half_done'), 'the failed batch leaves nothing behind')
    const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
    assert.deepEqual(ran.rows.map((row) => row.name), Object.keys(MIGRATIONS))
    // Once fixed, the same migrations run cleanly: no leftovers to trip over.
    await migrateToLatest(db, { ...MIGRATIONS, ...next, '2099-01-01-0002-broken': { up: async () => {} } })
  })

  it('refuses a database migrated by a newer Airstrip', async (t) => {
    const path = join(await tempDir(t), 'airstrip.db')
    const db = new Kysely<Database>({ dialect: createSqliteDialect(path) })
    await migrateToLatest(db, { ...MIGRATIONS, '2099-01-01-0001-future': { async up() {} } })
    await db.destroy()
    await assert.rejects(openDatabase(path), /database migrations could not run: .*2099-01-01-0001-future/)
  })
})

describe('adaptDatabaseSync', () => {
  it('prepares each SQL text once, keeps the most recently used 200, and still answers correctly', () => {
    const sqlite = new DatabaseSync(':memory:')
    const adapted = adaptDatabaseSync(sqlite)
    sqlite.exec('create table t (n integer)')
    const insert = adapted.prepare('insert into t (n) values (?)')
    for (let n = 0; n < 5; n++) assert.equal(adapted.prepare('insert into t (n) values (?)'), insert, 'same statement reused')
    for (let n = 0; n < 5; n++) insert.run([n])
    const select = adapted.prepare('select n from t where n >= ? order by n')
    assert.equal(select.reader, true)
    assert.equal(insert.reader, false)
    assert.deepEqual(select.all([3]).map((row) => (row as { n: number }).n), [3, 4])
    assert.deepEqual(select.all([1]).map((row) => (row as { n: number }).n), [1, 2, 3, 4], 'a reused statement binds new parameters')
    // 200 other texts push the insert (least recently used) out; the select, used again meanwhile, stays.
    for (let i = 0; i < 200; i++) {
      adapted.prepare(`select ${i} as n`)
      if (i === 100) assert.equal(adapted.prepare('select n from t where n >= ? order by n'), select)
    }
    assert.equal(adapted.prepare('select n from t where n >= ? order by n'), select)
    assert.notEqual(adapted.prepare('insert into t (n) values (?)'), insert)
    adapted.close()
  })
})

function sampleBuildRow(): Database['builds'] {
  const build = sampleBuild('com.example.row')
  return {
    id: 'b'.repeat(22),
    app_id: 'a'.repeat(22),
    bundle_id: build.bundleId,
    name: build.name,
    version: build.version,
    build: build.build,
    size: build.size,
    sha256: build.sha256,
    chunk_size: build.chunkSize,
    chunk_sha256s: JSON.stringify(build.chunkSha256s),
    icon_sha256: null,
    notes: null,
    file_name: null,
    created_at: new Date().toISOString(),
    info: JSON.stringify(build.info),
    channel: 'main',
    keep: 0,
  }
}
