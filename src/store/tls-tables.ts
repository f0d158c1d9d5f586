/**
 * Row shapes of the TLS tables (migration 2026-11-26-0007), part of `Database` in database.ts.
 * Used only when instances share PostgreSQL; with SQLite these stay empty and TLS state lives in
 * `<data dir>/certs/`. Private keys are sealed with the `tls-key-box` shared secret, never stored
 * as PEM. Times are ISO 8601 UTC with milliseconds.
 */
export interface TlsTables {
  tls_acme_accounts: TlsAcmeAccountsTable
  tls_certificates: TlsCertificatesTable
  tls_http_challenges: TlsHttpChallengesTable
}

/** One ACME account per directory URL (staging and production never share one). */
export interface TlsAcmeAccountsTable {
  directory_url: string
  /** The account's private key (PEM), sealed (src/notify/secret-box.ts). */
  key_sealed: string
  /** Its URL at the CA, once known. */
  url: string | null
  updated_at: string
}

/**
 * Certificates with their keys: `scope` is the ACME directory URL (name: the domain), or 'dev'
 * for the development CA (names 'ca' and 'server').
 */
export interface TlsCertificatesTable {
  scope: string
  name: string
  /** The chain, leaf first. */
  cert_pem: string
  key_sealed: string
  updated_at: string
}

/** HTTP-01 answers while an order is open, so whichever instance the CA reaches can answer. */
export interface TlsHttpChallengesTable {
  token: string
  key_authorization: string
  expires_at: string
}
