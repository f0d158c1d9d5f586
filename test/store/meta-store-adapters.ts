import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import type { Kysely } from 'kysely'
import { openDatabase } from '../../src/store/database.ts'
import type { Database } from '../../src/store/database.ts'
import { createSqliteMetaStore } from '../../src/store/meta-store.ts'
import type { MetaStore, MetaStoreOptions } from '../../src/store/meta-store.ts'
import type { NewBuild } from '../../src/store/records.ts'
import type { IpaInfo } from '../../src/ipa/types.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'

/** A MetaStore under test, with the Kysely handle for checks that must read raw tables. */
export interface OpenedStore {
  meta: MetaStore
  db: Kysely<Database>
}

/** A MetaStore adapter under test: `open` gives a fresh, empty, migrated store, closed by `t.after`. */
export interface StoreAdapter {
  name: string
  open(t: TestContext, options?: MetaStoreOptions): Promise<OpenedStore>
}

const postgresAdapter: StoreAdapter = {
  name: 'postgres',
  async open(t, options) {
    // One throw-away cluster per test file (test/support/postgres.ts), one database per test.
    const db = await openDatabase(await (await sharedPostgres()).createDatabase())
    const meta = createSqliteMetaStore(db, options)
    t.after(() => meta.close())
    return { meta, db }
  },
}

const postgresSkipped = postgresUnavailable()
// Say so in the test report instead of silently running SQLite only.
if (postgresSkipped) test('MetaStore adapter: postgres', { skip: postgresSkipped }, () => {})

/**
 * Every MetaStore adapter, each opened fresh per test and cleaned up by `t.after`. The suites in
 * test/store loop over this, as Kysely's tests loop over DIALECTS: SQLite always, PostgreSQL
 * (a private cluster started by the test file, or AIRSTRIP_TEST_PG_URL) unless its binaries are
 * missing. Every adapter must pass the same tests unchanged.
 */
export const ADAPTERS: ReadonlyArray<StoreAdapter> = [
  {
    name: 'sqlite',
    async open(t, options) {
      const dir = await mkdtemp(join(tmpdir(), 'airstrip-meta-'))
      const db = await openDatabase(join(dir, 'airstrip.db'))
      const meta = createSqliteMetaStore(db, options)
      t.after(async () => {
        await meta.close()
        await rm(dir, { recursive: true, force: true })
      })
      return { meta, db }
    },
  },
  ...(postgresSkipped ? [] : [postgresAdapter]),
]

/** A clock the test moves by hand: each call to `tick` advances it. */
export function manualClock(start = '2026-11-26T10:00:00.000Z'): { now: () => Date; tick(ms?: number): string } {
  let time = Date.parse(start)
  return {
    now: () => new Date(time),
    tick(ms = 1000) {
      time += ms
      return new Date(time).toISOString()
    },
  }
}

/** A plausible NewBuild for `bundleId`; override what a test is about. */
export function sampleBuild(bundleId: string, overrides: Partial<NewBuild> = {}): NewBuild {
  const name = overrides.name ?? 'Example'
  const info: IpaInfo = {
    bundleId,
    version: overrides.version ?? '1.0',
    build: overrides.build ?? '1',
    name,
    minimumOSVersion: '15.0',
    deviceFamily: ['iphone'],
    platform: 'iphoneos',
    executable: 'Example',
    appPath: 'Payload/Example.app/',
    size: 1234,
    sha256: 'a'.repeat(64),
    sdk: 'iphoneos18.0',
    requiredDeviceCapabilities: ['arm64'],
    profile: null,
    signingCertificate: null,
    icon: null,
    extensions: [],
    problems: [{ code: 'no-profile', severity: 'warning', message: 'no embedded.mobileprovision' }],
  }
  return {
    bundleId,
    name,
    version: '1.0',
    build: '1',
    size: 1234,
    sha256: 'a'.repeat(64),
    chunkSize: 10 * 1024 * 1024,
    chunkSha256s: ['b'.repeat(64)],
    iconSha256: null,
    notes: null,
    fileName: 'Example.ipa',
    info,
    ...overrides,
  }
}
