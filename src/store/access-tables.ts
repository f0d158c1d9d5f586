/**
 * Row shapes of the channel, access and analytics tables (migration 2026-11-26-0006), part of
 * `Database` in database.ts. Times are ISO 8601 UTC with milliseconds; booleans are 0/1.
 *
 * Apps are named by bundle id, as in the notification tables: an app row is deleted with its last
 * build and re-created by the next upload, and a channel's access and retention settings, like the
 * personal links handed to testers, must survive that.
 */

import type { Generated } from 'kysely'

export interface ChannelsTable {
  bundle_id: string
  name: string
  /** 'inherit' (the app's access), 'public', 'password' or 'invite'. */
  access: string
  /** Retention: keep this many newest builds (null: no count rule). */
  retention_keep_last: number | null
  /** Retention: keep builds newer than this many days (null: no age rule). */
  retention_max_age_days: number | null
  created_at: string
  updated_at: string
}

export interface AppAccessTable {
  bundle_id: string
  /** 'public', 'password' or 'invite'; an app without a row is public. */
  access: string
  updated_at: string
}

export interface AccessGrantsTable {
  /** Carried inside every signed link minted under this grant, and checked on every request. */
  id: string
  bundle_id: string
  /** Null: the whole app. */
  channel: string | null
  /** 'invite' (one tester's personal link) or 'password' (everyone who typed the scope's password). */
  kind: string
  tester_id: string | null
  /** SHA-256 (hex) of the personal link's secret; null for password grants. */
  secret_hash: string | null
  /** argon2id, PHC string; null for invites. */
  password_hash: string | null
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
}

export interface InstallEventsTable {
  id: string
  build_id: string
  bundle_id: string
  tester_id: string | null
  grant_id: string | null
  /** 'page-view', 'manifest', 'download-started' or 'download-completed'. */
  kind: string
  created_at: string
  /** How many alike events this row stands for (one write batch's; migration 0010). */
  count: Generated<number>
}

export interface DownloadSessionsTable {
  /** A hash of the .ipa link, the client address and its User-Agent: one installer's download. */
  id: string
  build_id: string
  bundle_id: string
  tester_id: string | null
  grant_id: string | null
  size: number
  /** JSON array of [start, end) byte intervals sent so far, merged and sorted. */
  covered: string
  /** Every byte sent, overlaps included. */
  bytes_sent: number
  started_at: string
  updated_at: string
  completed_at: string | null
}

export interface AccessTables {
  channels: ChannelsTable
  app_access: AppAccessTable
  access_grants: AccessGrantsTable
  install_events: InstallEventsTable
  download_sessions: DownloadSessionsTable
}
