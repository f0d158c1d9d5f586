import type { IpaInfo } from '../ipa/types.ts'

/**
 * What the metadata store keeps. Public ids are random (unguessable, URL-safe); nothing sequential
 * ever appears in a URL.
 */
export interface AppRecord {
  id: string
  bundleId: string
  name: string
  createdAt: string
  updatedAt: string
}

export interface BuildRecord {
  id: string
  appId: string
  bundleId: string
  name: string
  version: string | null
  build: string | null
  size: number
  /** SHA-256 of the whole .ipa (hex); also the key of its blob. */
  sha256: string
  /** Chunk size of `chunkSha256s` (10 MiB, as Apple's sample manifest uses). */
  chunkSize: number
  /** SHA-256 of each `chunkSize` chunk, for the manifest's `sha256s`. */
  chunkSha256s: string[]
  /** SHA-256 of the icon PNG blob, or null. */
  iconSha256: string | null
  notes: string | null
  /** Original upload file name, for display only (never used as a path). */
  fileName: string | null
  createdAt: string
  /** Everything inspect read, as JSON. */
  info: IpaInfo
  /** The channel it belongs to ("main" by default; see src/store/channels.ts). */
  channel: string
  /** Marked "keep": retention never deletes it. */
  keep: boolean
}

/** An app as listed: its record plus what a list shows about its builds. */
export interface AppSummary extends AppRecord {
  buildCount: number
  latestBuildId: string | null
  latestVersion: string | null
  latestBuild: string | null
}

/** What a new build carries; the store assigns `id` and `appId`, and `createdAt` defaults to now. */
export type NewBuild = Omit<BuildRecord, 'id' | 'appId' | 'createdAt' | 'channel' | 'keep'> & { createdAt?: string; channel?: string }

/** One page of builds, newest first; pass `nextCursor` back to get the next page (null: no more). */
export interface BuildPage {
  builds: BuildRecord[]
  nextCursor: string | null
}

/** An API token as listed. Its value is shown once at creation and never stored. */
export interface ApiTokenRecord {
  id: string
  name: string
  createdAt: string
  lastUsedAt: string | null
  /** 'full': the whole API; 'upload': POST /api/v1/builds only. */
  scope: ApiTokenScope
  /** Uploads only for this bundle id; null: any app. */
  bundleId: string | null
  /** The admin UI user who made it; null: made with the CLI. */
  createdBy: string | null
}

export const API_TOKEN_SCOPES = ['full', 'upload'] as const
export type ApiTokenScope = (typeof API_TOKEN_SCOPES)[number]

/** What a token may do, as `verifyApiToken` finds it. */
export interface VerifiedApiToken {
  id: string
  name: string
  scope: ApiTokenScope
  bundleId: string | null
}

/** Options of a new token; the default is what tokens always were: full, any app. */
export interface NewApiTokenOptions {
  scope?: ApiTokenScope | undefined
  bundleId?: string | null | undefined
  createdBy?: string | null | undefined
}
