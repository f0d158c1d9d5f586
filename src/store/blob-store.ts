import type { Readable } from 'node:stream'
import { AirstripError } from '../errors.ts'

/**
 * Where .ipa files and icons live: content-addressed by the SHA-256 of their bytes (64 lowercase
 * hex), so identical uploads share one blob and a key doubles as a strong ETag. Local disk now
 * (`createFsBlobStore`); S3 later must be a new adapter only. Metadata lives in the MetaStore.
 */
export interface BlobStore {
  /**
   * Streams `body` to a temporary place while hashing it (whole and per `chunkSize` chunk) and
   * counting bytes. More than `maxBytes` → the body is destroyed and `upload-too-large` thrown;
   * a body that errors or closes early → `upload-aborted`. Nothing is left behind on failure.
   * The result is not a blob yet: inspect it at `path`, then `commit()` or `discard()`.
   */
  stage(body: Readable, options: StageOptions): Promise<StagedBlob>
  /** Stores small bytes (icons) atomically; returns their key. */
  putBytes(bytes: Uint8Array): Promise<string>
  /** Size and modification time, or null when there is no such blob. */
  stat(sha256: string): Promise<BlobStat | null>
  /**
   * Opens a blob for positioned reads into buffers the caller owns and reuses (a download cycles
   * two buffers instead of allocating per chunk); null when there is no such blob. Local disk reads
   * from one open file; an object store answers reads with ranged GETs.
   */
  openReader(sha256: string): Promise<BlobReader | null>
  /** Deletes a blob; true when it existed. Call it only when no build references the key. */
  delete(sha256: string): Promise<boolean>
  /** Removes staging leftovers older than `olderThanMs` (a crash mid-upload); run at start-up. Returns how many. */
  cleanTemp(olderThanMs: number): Promise<number>
}

/** Limits and hashing granularity for `stage`. */
export interface StageOptions {
  /** Largest accepted body in bytes. */
  maxBytes: number
  /** Size of the chunks hashed into `chunkSha256s` (the OTA manifest's `sha256s`). */
  chunkSize: number
}

/**
 * An upload that has been received and hashed but is not yet a blob. `commit()` makes it one
 * (durably; an identical existing blob is kept and the copy dropped). `discard()` deletes it, is
 * idempotent, and does nothing after a commit, so it can sit in a `finally`.
 */
export interface StagedBlob {
  /** A local file holding the bytes until commit or discard, for inspection. */
  path: string
  sha256: string
  size: number
  /** SHA-256 of each `chunkSize` chunk, in order; the last may be shorter; none for an empty body. */
  chunkSha256s: string[]
  commit(): Promise<void>
  discard(): Promise<void>
}

/** An open blob; see `BlobStore.openReader`. Close it when done, also after an error. */
export interface BlobReader {
  /** Size in bytes when opened (blobs are immutable). */
  readonly size: number
  /**
   * Fills `into` with bytes from `position` on; resolves with how many were read, fewer only at
   * the end of the blob (0 at or past it). `into` is not touched after the promise settles.
   */
  read(into: Uint8Array, position: number): Promise<number>
  /** Releases the reader; idempotent. */
  close(): Promise<void>
}

/** What `stat` tells: enough for Content-Length and Last-Modified. */
export interface BlobStat {
  size: number
  mtime: Date
}

/** True for a valid blob key: a SHA-256 in 64 lowercase hex digits. */
export function isBlobKey(key: unknown): key is string {
  return typeof key === 'string' && /^[0-9a-f]{64}$/.test(key)
}

/** Throws `bad-request` unless `key` is a valid blob key: nothing else may become part of a path or object name. */
export function assertBlobKey(key: unknown): asserts key is string {
  if (!isBlobKey(key)) throw new AirstripError('bad-request', 'a blob key must be a SHA-256 in 64 lowercase hex digits')
}
