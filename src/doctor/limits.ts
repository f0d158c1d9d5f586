/**
 * Every cap doctor applies to what it fetches, decided in one place. Hitting one is a failed (or
 * skipped) check with a clear message, never a hang, a crash or an unbounded allocation: doctor
 * points at deployments it does not control, some of them broken in hostile ways (endless bodies,
 * slow drips, 10 GB Content-Lengths, zip bombs).
 */
export const DOCTOR_LIMITS = {
  /** Whole run (`--timeout`), default. */
  timeoutMs: 60_000,
  /** One request from connect to last byte (`--request-timeout`), default; never more than what is left of the run. */
  requestTimeoutMs: 15_000,
  /** Install page HTML. */
  pageBytes: 2 * 1024 * 1024,
  /** Manifest plist (real ones are a few KiB). */
  manifestBytes: 1024 * 1024,
  /** Display / full-size images. */
  imageBytes: 4 * 1024 * 1024,
  /** A certificate fetched from an AIA "CA Issuers" URL. */
  aiaCertificateBytes: 64 * 1024,
  /** Response headers; Node's own default is 16 KiB. */
  headerBytes: 64 * 1024,
  /** Redirects followed (and reported) before giving up. */
  redirects: 5,
  /** Bytes read at the start of a plain GET of the .ipa, to recognise HTML or a ZIP. */
  ipaPeekBytes: 4096,
  /** Bytes of the .ipa fetched with Range requests while reading its metadata (central directory, plists, signature). */
  ipaMetadataBytes: 64 * 1024 * 1024,
  /** Without Range support, an .ipa up to this size is downloaded whole; larger ones are not read. */
  ipaDownloadWithoutRangeBytes: 32 * 1024 * 1024,
  /** Extra bytes fetched to verify the manifest's chunk hashes (the last chunk, then the first). */
  hashCheckBytes: 24 * 1024 * 1024,
  /** A whole-file `sha256`/`md5` is verified only for files up to this size. */
  wholeFileHashBytes: 16 * 1024 * 1024,
  /** Block size of the ranged reader's cache: small reads are rounded up and coalesced to this. */
  rangeBlockBytes: 64 * 1024,
  /** Apple's cellular download limit, roughly (matrix row 14). */
  cellularBytes: 200 * 1000 * 1000,
} as const
