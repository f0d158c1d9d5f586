import type { Kysely } from 'kysely'
import { createApiToken, listApiTokens, revokeApiToken, verifyApiToken } from './api-tokens.ts'
import { withBlobReferencesLock } from './blob-references-lock.ts'
import { getApp, getAppByBundleId, listApps } from './apps.ts'
import { countBuildsWithIconSha256, countBuildsWithSha256, deleteBuild, getBuild, insertBuild, latestBuild, listBuilds, updateReleaseNotes } from './builds.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'
import type { ApiTokenRecord, NewApiTokenOptions, VerifiedApiToken, AppRecord, AppSummary, BuildPage, BuildRecord, NewBuild } from './records.ts'

/**
 * Everything the routes, the upload path and the CLI need from the metadata database, and
 * nothing more (not a generic ORM wrapper). SQLite now; a PostgreSQL adapter must be a new
 * `create…MetaStore` only, run against the same test suite (test/store, `ADAPTERS`).
 */
export interface MetaStore {
  /** Upserts the app by bundle id and inserts the build, in one transaction. */
  insertBuild(input: NewBuild): Promise<{ app: AppRecord; build: BuildRecord }>
  getBuild(id: string): Promise<BuildRecord | null>
  /** Newest first; `limit` is clamped to 1…500; a foreign `cursor` throws `bad-request`. */
  listBuilds(query: { appId?: string | undefined; limit: number; cursor?: string | undefined }): Promise<BuildPage>
  /** Replaces the build's release notes (null: none); returns the build, or null when there is none. */
  updateReleaseNotes(id: string, notes: string | null): Promise<BuildRecord | null>
  /** Deletes the build (and its app with its last build); returns it, or null. Blobs stay: check the counts. */
  deleteBuild(id: string): Promise<BuildRecord | null>
  /** How many builds reference this .ipa blob (0: it may be deleted). */
  countBuildsWithSha256(sha256: string): Promise<number>
  /** How many builds reference this icon blob (0: it may be deleted). */
  countBuildsWithIconSha256(sha256: string): Promise<number>
  getApp(id: string): Promise<AppRecord | null>
  getAppByBundleId(bundleId: string): Promise<AppRecord | null>
  /** Most recently built first, with build count and newest build. */
  listApps(): Promise<AppSummary[]>
  latestBuild(appId: string): Promise<BuildRecord | null>
  /** Returns the token once (`as_…`); only its SHA-256 is stored. Empty name: `bad-request`. Default: full, any app. */
  createApiToken(name: string, options?: NewApiTokenOptions): Promise<{ id: string; token: string }>
  /** The token's id, name, scope and app if it is valid (and notes it was used), else null. */
  verifyApiToken(token: string): Promise<VerifiedApiToken | null>
  listApiTokens(): Promise<ApiTokenRecord[]>
  /** True when the token existed. */
  revokeApiToken(id: string): Promise<boolean>
  /**
   * Runs `work` (commit a blob and record its build, or delete a build and its unreferenced blobs)
   * exclusively across every instance sharing this database (a PostgreSQL advisory lock).
   */
  withBlobReferencesLock<T>(work: () => Promise<T>): Promise<T>
  /** Closes the database. */
  close(): Promise<void>
}

/** Overrides for tests: a fixed clock, predictable ids. */
export type MetaStoreOptions = Partial<StoreContext>

/**
 * The MetaStore over a Kysely database opened by `openDatabase`. The queries are portable
 * Kysely (upsert, RETURNING, keyset pagination), so PostgreSQL should only need its own dialect.
 *
 * @example const meta = createSqliteMetaStore(await openDatabase(join(dataDir, 'airstrip.db')))
 */
export function createSqliteMetaStore(db: Kysely<Database>, options: MetaStoreOptions = {}): MetaStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  return {
    insertBuild: (input) => insertBuild(db, ctx, input),
    getBuild: (id) => getBuild(db, id),
    listBuilds: (query) => listBuilds(db, query),
    updateReleaseNotes: (id, notes) => updateReleaseNotes(db, id, notes),
    deleteBuild: (id) => deleteBuild(db, id),
    countBuildsWithSha256: (sha256) => countBuildsWithSha256(db, sha256),
    countBuildsWithIconSha256: (sha256) => countBuildsWithIconSha256(db, sha256),
    getApp: (id) => getApp(db, id),
    getAppByBundleId: (bundleId) => getAppByBundleId(db, bundleId),
    listApps: () => listApps(db),
    latestBuild: (appId) => latestBuild(db, appId),
    createApiToken: (name, options) => createApiToken(db, ctx, name, options),
    verifyApiToken: (token) => verifyApiToken(db, ctx, token),
    listApiTokens: () => listApiTokens(db),
    revokeApiToken: (id) => revokeApiToken(db, id),
    withBlobReferencesLock: (work) => withBlobReferencesLock(db, work),
    close: () => db.destroy(),
  }
}
