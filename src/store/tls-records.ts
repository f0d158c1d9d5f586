import { PostgresAdapter, sql } from 'kysely'
import type { Kysely } from 'kysely'
import { createSecretBox, type SecretBox } from '../notify/secret-box.ts'
import type { SharedHttpChallenges } from '../tls/acme-challenges.ts'
import { matchingPair, type AcmeStore, type SharedAcmeState, type StoredCertificate } from '../tls/acme-store.ts'
import type { DevCertificateRecords } from '../tls/shared-dev-certificates.ts'
import type { CertificatePair } from '../tls/swappable-tls.ts'
import type { Database } from './database.ts'
import { sharedSecret } from './shared-secrets.ts'

/**
 * TLS state in the database (tables in tls-tables.ts), for instances sharing PostgreSQL: nothing
 * of it is on any instance's disk. Private keys are sealed with AES-256-GCM under the `tls-key-box`
 * shared secret (the notification secret box), each bound to its row, so a database dump alone
 * holds no usable key and a sealed key copied onto another row does not open.
 */

/** The store, HTTP-01 answers and order lock of automatic HTTPS for the CA at `directoryUrl`. */
export async function openSharedAcmeState(db: Kysely<Database>, directoryUrl: string, now: () => Date = () => new Date()): Promise<SharedAcmeState> {
  const box = await tlsKeyBox(db)
  return {
    store: createSqlAcmeStore(db, box, directoryUrl, now),
    httpChallenges: createSqlHttpChallenges(db, now),
    exclusive: (wait, work) => withCertificateOrderLock(db, wait, work),
  }
}

/** The development CA and server certificate every instance serves (`--dev-tls` on a shared database). */
export async function openSharedDevCertificates(db: Kysely<Database>, now: () => Date = () => new Date()): Promise<DevCertificateRecords> {
  const pairs = createSqlCertificatePairs(db, await tlsKeyBox(db), now)
  return {
    read: (name) => pairs.read('dev', name),
    insertIfAbsent: (name, pair) => pairs.insertIfAbsent('dev', name, pair),
    replace: (name, expectedCertPem, pair) => pairs.replace('dev', name, expectedCertPem, pair),
  }
}

/** The secret box that seals TLS private keys, its key shared by every instance on this database. */
export async function tlsKeyBox(db: Kysely<Database>): Promise<SecretBox> {
  return createSecretBox(await sharedSecret(db, 'tls-key-box'))
}

/** The ACME account and certificates for one CA (`directoryUrl`), as the file store keeps them per folder. */
export function createSqlAcmeStore(db: Kysely<Database>, box: SecretBox, directoryUrl: string, now: () => Date = () => new Date()): AcmeStore {
  const accountContext = `tls:acme-account:${directoryUrl}`
  const certificates = createSqlCertificatePairs(db, box, now)
  return {
    location: 'the database',
    async readAccount() {
      const row = await db.selectFrom('tls_acme_accounts').select(['key_sealed', 'url']).where('directory_url', '=', directoryUrl).executeTakeFirst()
      if (!row) return null
      // A key that does not open (altered row, another database's secret) is an error, not "no account":
      // a new account would hide the damage.
      try {
        return { keyPem: box.open(row.key_sealed, accountContext), url: row.url }
      } catch (error) {
        throw new Error(`the ACME account key for ${directoryUrl} in the database cannot be opened with its tls-key-box secret`, { cause: error })
      }
    },
    async writeAccountKey(keyPem) {
      const values = { key_sealed: box.seal(keyPem, accountContext), url: null, updated_at: now().toISOString() }
      await db
        .insertInto('tls_acme_accounts')
        .values({ directory_url: directoryUrl, ...values })
        .onConflict((oc) => oc.column('directory_url').doUpdateSet(values))
        .execute()
    },
    async writeAccountUrl(url) {
      await db.updateTable('tls_acme_accounts').set({ url, updated_at: now().toISOString() }).where('directory_url', '=', directoryUrl).execute()
    },
    readCertificate: (domain) => certificates.read(directoryUrl, domain),
    writeCertificate: (domain, pair) => certificates.write(directoryUrl, domain, pair),
  }
}

/** Chains with sealed keys in `tls_certificates`, by scope and name. */
export interface CertificatePairs {
  /** The pair, or null when missing, not a matching pair, or sealed under another key. */
  read(scope: string, name: string): Promise<StoredCertificate | null>
  /** Stores the pair (one statement: the chain and its key never come apart). */
  write(scope: string, name: string, pair: CertificatePair): Promise<void>
  /** Stores the pair only when there is none yet; false when another instance was first. */
  insertIfAbsent(scope: string, name: string, pair: CertificatePair): Promise<boolean>
  /** Replaces the pair only while it still is `expectedCertPem`; false when another instance replaced it first. */
  replace(scope: string, name: string, expectedCertPem: string, pair: CertificatePair): Promise<boolean>
}

export function createSqlCertificatePairs(db: Kysely<Database>, box: SecretBox, now: () => Date = () => new Date()): CertificatePairs {
  const context = (scope: string, name: string): string => `tls:certificate:${scope}:${name}`
  const row = (scope: string, name: string, pair: CertificatePair) => ({ cert_pem: pair.certPem, key_sealed: box.seal(pair.keyPem, context(scope, name)), updated_at: now().toISOString() })
  return {
    async read(scope, name) {
      const found = await db.selectFrom('tls_certificates').select(['cert_pem', 'key_sealed']).where('scope', '=', scope).where('name', '=', name).executeTakeFirst()
      if (!found) return null
      let keyPem: string
      try {
        keyPem = box.open(found.key_sealed, context(scope, name))
      } catch {
        return null
      }
      return matchingPair(found.cert_pem, keyPem)
    },
    async write(scope, name, pair) {
      const values = row(scope, name, pair)
      await db
        .insertInto('tls_certificates')
        .values({ scope, name, ...values })
        .onConflict((oc) => oc.columns(['scope', 'name']).doUpdateSet(values))
        .execute()
    },
    async insertIfAbsent(scope, name, pair) {
      const result = await db
        .insertInto('tls_certificates')
        .values({ scope, name, ...row(scope, name, pair) })
        .onConflict((oc) => oc.columns(['scope', 'name']).doNothing())
        .executeTakeFirst()
      return result.numInsertedOrUpdatedRows !== undefined && result.numInsertedOrUpdatedRows > 0n
    },
    async replace(scope, name, expectedCertPem, pair) {
      const result = await db
        .updateTable('tls_certificates')
        .set(row(scope, name, pair))
        .where('scope', '=', scope)
        .where('name', '=', name)
        .where('cert_pem', '=', expectedCertPem)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },
  }
}

/** HTTP-01 answers in `tls_http_challenges`; expired ones are never served and are swept on the next put. */
export function createSqlHttpChallenges(db: Kysely<Database>, now: () => Date = () => new Date()): SharedHttpChallenges {
  return {
    async put(token, keyAuthorization, expiresAt) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('tls_http_challenges').where('expires_at', '<=', now().toISOString()).execute()
        const values = { key_authorization: keyAuthorization, expires_at: expiresAt.toISOString() }
        await trx
          .insertInto('tls_http_challenges')
          .values({ token, ...values })
          .onConflict((oc) => oc.column('token').doUpdateSet(values))
          .execute()
      })
    },
    async get(token) {
      const row = await db.selectFrom('tls_http_challenges').select('key_authorization').where('token', '=', token).where('expires_at', '>', now().toISOString()).executeTakeFirst()
      return row?.key_authorization ?? null
    },
    async delete(token) {
      await db.deleteFrom('tls_http_challenges').where('token', '=', token).execute()
    },
  }
}

/** A fixed advisory-lock key pair for "order certificates" ("AIRS", "ACME"), beside blob-references-lock.ts's. */
const ORDER_LOCK_KEY = [0x41495253, 0x41434d45] as const

/**
 * Runs `work` while no other instance orders a certificate: on PostgreSQL a session advisory lock
 * held on one pooled connection for the duration (as withBlobReferencesLock does; the work uses
 * other connections). With `wait` false it is `pg_try_advisory_lock`: when another instance holds
 * the lock this returns null at once, and that instance's certificate arrives through the
 * database. SQLite serves one instance: `work` runs as is.
 */
export async function withCertificateOrderLock<T>(db: Kysely<Database>, wait: boolean, work: () => Promise<T>): Promise<{ value: T } | null> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return { value: await work() }
  return db.connection().execute(async (connection) => {
    if (wait) await sql`select pg_advisory_lock(${ORDER_LOCK_KEY[0]}, ${ORDER_LOCK_KEY[1]})`.execute(connection)
    else {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${ORDER_LOCK_KEY[0]}, ${ORDER_LOCK_KEY[1]}) as locked`.execute(connection)
      if (rows[0]?.locked !== true) return null
    }
    try {
      return { value: await work() }
    } finally {
      await sql`select pg_advisory_unlock(${ORDER_LOCK_KEY[0]}, ${ORDER_LOCK_KEY[1]})`.execute(connection)
    }
  })
}
