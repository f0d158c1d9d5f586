import type { Kysely, Migration } from 'kysely'

/**
 * TLS state every instance must share when several run on one PostgreSQL: the ACME account, the
 * certificates in service (ACME and the development CA) and the HTTP-01 answers of an open order.
 * Row shapes in tls-tables.ts. Unused with SQLite (one instance keeps them in its data dir).
 */
export const tlsState: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('tls_acme_accounts')
      .addColumn('directory_url', 'text', (c) => c.primaryKey().notNull())
      .addColumn('key_sealed', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema
      .createTable('tls_certificates')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('cert_pem', 'text', (c) => c.notNull())
      .addColumn('key_sealed', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('tls_certificates_pk', ['scope', 'name'])
      .execute()
    await db.schema
      .createTable('tls_http_challenges')
      .addColumn('token', 'text', (c) => c.primaryKey().notNull())
      .addColumn('key_authorization', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute()
  },
}
