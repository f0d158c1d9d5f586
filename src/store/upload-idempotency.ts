import type { Kysely } from 'kysely'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'

/** Row shape of `upload_idempotency_keys` (migration 0008): one per (owner, Idempotency-Key). */
export interface UploadIdempotencyKeysTable {
  /** Whose key it is: keys of different tokens or users never meet (e.g. `token:<sha256 of the token>`). */
  owner: string
  idempotency_key: string
  /** Random id of the request that holds (or held) the key; only it may complete or release it. */
  claim_id: string
  /** SHA-256 of the uploaded file, set on completion: a repeat must send the same file. */
  fingerprint: string | null
  build_id: string | null
  response_status: number | null
  /** The answer exactly as first sent (JSON text), replayed byte for byte. */
  response_body: string | null
  created_at: string
  /** Refreshed while the claiming request runs; a claim left behind by a crash goes stale. */
  heartbeat_at: string
  /** Null while the first request with the key is still running. */
  completed_at: string | null
}

export interface UploadIdempotencyTables {
  upload_idempotency_keys: UploadIdempotencyKeysTable
}

/** How long a key is remembered (as Stripe's): a retry a day later is a new upload. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000
/** How often a running request refreshes its claim, and when a claim without refresh counts as abandoned. */
export const HEARTBEAT_MS = 20_000
export const STALE_CLAIM_MS = 2 * 60_000

/** The answer an upload recorded for its key. */
export interface RecordedUpload {
  fingerprint: string
  buildId: string
  status: number
  body: string
}

/** What `claim` found: the key is now ours, another request holds it, or it already made a build. */
export type KeyClaim =
  | { state: 'claimed'; claimId: string }
  | { state: 'in-progress' }
  | ({ state: 'completed' } & RecordedUpload)

export interface UploadIdempotencyStore {
  /** Takes the key for a new request (also taking over a stale claim), or says why not. Expired keys are forgotten first. */
  claim(owner: string, key: string): Promise<KeyClaim>
  /** Keeps a claim fresh; false when it is no longer this request's. */
  heartbeat(owner: string, key: string, claimId: string): Promise<boolean>
  /** Records the answer of the request holding the claim; false when the claim was lost. */
  complete(owner: string, key: string, claimId: string, result: RecordedUpload): Promise<boolean>
  /** Gives the key back after a failed request (nothing was stored), so a retry may run. */
  release(owner: string, key: string, claimId: string): Promise<void>
  /** Forgets keys older than KEY_TTL_MS (except claims still being refreshed); returns how many. */
  deleteExpired(): Promise<number>
}

const TABLE = 'upload_idempotency_keys'

/**
 * Idempotency keys over Kysely, alike on SQLite and PostgreSQL: the insert of a claim does nothing
 * on conflict with the primary key, and whoever's claim id is then in the row holds the key.
 */
export function createSqlUploadIdempotencyStore(db: Kysely<Database>, options: { now?: () => Date } = {}): UploadIdempotencyStore {
  const now = options.now ?? (() => new Date())
  const before = (ms: number): string => new Date(now().getTime() - ms).toISOString()

  const deleteExpired = async (): Promise<number> => {
    const result = await db
      .deleteFrom(TABLE)
      .where('created_at', '<', before(KEY_TTL_MS))
      .where((eb) => eb.or([eb('completed_at', 'is not', null), eb('heartbeat_at', '<', before(STALE_CLAIM_MS))]))
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  return {
    deleteExpired,
    async claim(owner, key) {
      await deleteExpired()
      const claimId = newId()
      // Three rounds: the row may vanish (released) between the insert and the read.
      for (let round = 0; round < 3; round++) {
        const at = now().toISOString()
        await db
          .insertInto(TABLE)
          .values({ owner, idempotency_key: key, claim_id: claimId, fingerprint: null, build_id: null, response_status: null, response_body: null, created_at: at, heartbeat_at: at, completed_at: null })
          .onConflict((oc) => oc.columns(['owner', 'idempotency_key']).doNothing())
          .execute()
        const row = await db.selectFrom(TABLE).selectAll().where('owner', '=', owner).where('idempotency_key', '=', key).executeTakeFirst()
        if (!row) continue
        if (row.claim_id === claimId) return { state: 'claimed', claimId }
        if (row.completed_at !== null && row.fingerprint !== null && row.build_id !== null && row.response_status !== null && row.response_body !== null) {
          return { state: 'completed', fingerprint: row.fingerprint, buildId: row.build_id, status: Number(row.response_status), body: row.response_body }
        }
        if (row.heartbeat_at >= before(STALE_CLAIM_MS)) return { state: 'in-progress' }
        // The request that claimed it stopped refreshing (a crash): take over, unless another request just did.
        const taken = await db
          .updateTable(TABLE)
          .set({ claim_id: claimId, created_at: at, heartbeat_at: at })
          .where('owner', '=', owner)
          .where('idempotency_key', '=', key)
          .where('claim_id', '=', row.claim_id)
          .where('completed_at', 'is', null)
          .executeTakeFirst()
        if (taken.numUpdatedRows > 0n) return { state: 'claimed', claimId }
      }
      return { state: 'in-progress' }
    },
    async heartbeat(owner, key, claimId) {
      const result = await db
        .updateTable(TABLE)
        .set({ heartbeat_at: now().toISOString() })
        .where('owner', '=', owner)
        .where('idempotency_key', '=', key)
        .where('claim_id', '=', claimId)
        .where('completed_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
    async complete(owner, key, claimId, result) {
      const updated = await db
        .updateTable(TABLE)
        .set({ fingerprint: result.fingerprint, build_id: result.buildId, response_status: result.status, response_body: result.body, completed_at: now().toISOString() })
        .where('owner', '=', owner)
        .where('idempotency_key', '=', key)
        .where('claim_id', '=', claimId)
        .where('completed_at', 'is', null)
        .executeTakeFirst()
      return updated.numUpdatedRows > 0n
    },
    async release(owner, key, claimId) {
      await db.deleteFrom(TABLE).where('owner', '=', owner).where('idempotency_key', '=', key).where('claim_id', '=', claimId).where('completed_at', 'is', null).execute()
    },
  }
}
