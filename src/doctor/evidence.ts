import type { IpaInfo } from '../ipa/types.ts'
import type { FetchResult, FollowedFetch } from './http-fetch.ts'
import type { ParsedLink } from './itms-link-parse.ts'
import type { DeclaredHashes, ManifestFacts } from './manifest-read.ts'
import type { FoundLink } from './page-links.ts'
import type { TlsProbe } from './tls-probe.ts'

/**
 * Everything doctor gathered about one deployment: the input of the checks, which are pure
 * functions of it. Gathering (`gather.ts`, `gather-ipa.ts`) is the only part that does I/O; a
 * `null` here means "not gathered" and the checks that need it skip, saying why.
 */
export interface Evidence {
  target: { input: string; kind: TargetKind }
  /** The clock the build is judged against (`--now`); TLS is judged at the time of the handshake. */
  now: Date
  udid: string | null
  /** The device's iOS version (`--ios`), to compare with MinimumOSVersion. */
  iosVersion: string | null
  page: PageEvidence | null
  link: LinkEvidence | null
  manifest: ManifestEvidence | null
  /** One TLS probe per https origin the installer fetches from (manifest, .ipa). */
  tls: TlsEvidence[]
  ipa: IpaEvidence | null
  images: ImageEvidence[]
  /** Set when Airstrip diagnoses itself (`GET /api/v1/doctor`). */
  server: ServerEvidence | null
}

export type TargetKind = 'page' | 'link' | 'manifest-url' | 'ipa-file' | 'manifest-file'

export interface PageEvidence {
  url: string
  fetch: FollowedFetch
  links: FoundLink[]
}

export interface LinkEvidence {
  /** The link diagnosed (the first one found, or the one given). */
  parsed: ParsedLink
  /** Other links on the page. */
  others: ParsedLink[]
}

export interface ManifestEvidence {
  /** null for a local file. */
  url: string | null
  fetch: FollowedFetch | null
  facts: ManifestFacts | null
  /** Why there are no facts (not fetched, not a 200, file unreadable). */
  unreadable: string | null
}

export interface TlsEvidence {
  roles: Array<'manifest' | 'ipa'>
  probe: TlsProbe
}

export interface IpaEvidence {
  /** null for a local file. */
  url: string | null
  head: FollowedFetch | null
  /** A plain GET as iOS sends it first (no Range), stopped after a peek at the body. */
  get: FollowedFetch | null
  /** A GET with `Range: bytes=0-3`. */
  rangeProbe: FetchResult | null
  size: number | null
  transfer: IpaTransfer
  inspection: InspectionOutcome
  hashes: HashVerification | null
}

export interface IpaTransfer {
  /** How the archive was read: Range requests, one whole download (no Range support), from disk, or not at all. */
  method: 'ranges' | 'download' | 'local' | 'none'
  bytesFetched: number
  requests: number
  /** HTTP rules broken while the archive was read (short bodies, wrong Content-Range, changed ETag). */
  violations: string[]
}

export type InspectionOutcome =
  | { state: 'read'; info: IpaInfo; signatureRead: boolean; note: string | null }
  | { state: 'failed'; code: string; message: string; during: 'archive' | 'transfer' }
  | { state: 'not-read'; reason: string }

export interface HashVerification {
  declared: DeclaredHashes
  /** ceil(size / chunk size): how many chunk hashes the file needs. */
  chunksNeeded: number | null
  checked: Array<{ part: string; expected: string; actual: string }>
  notChecked: string[]
}

export interface ImageEvidence {
  kind: 'display-image' | 'full-size-image'
  url: string
  fetch: FollowedFetch
  /** The body starts like a PNG or JPEG. */
  looksLikeImage: boolean
}

export interface ServerEvidence {
  publicUrl: string
  /** The origin the API request came in on, as the server sees it (forwarded headers applied with --trust-proxy). */
  requestOrigin: string
  trustProxy: boolean
  /** X-Forwarded-* headers present on the request. */
  forwardedHeaders: Record<string, string>
}
