import { join } from 'node:path'
import { openFileSource } from '../ipa/source.ts'
import type { RandomAccessSource } from '../ipa/source.ts'
import type { BlobStore, StagedBlob } from './blob-store.ts'
import { createFsBlobStore } from './fs-blob-store.ts'
import type { StorageConfig } from './storage-config.ts'

/** Where `openDatabase` opens: the PostgreSQL URL when one is configured, else `airstrip.db` in the data dir. */
export function databaseLocation(storage: StorageConfig, dataDir: string): string {
  return storage.databaseUrl ?? join(dataDir, 'airstrip.db')
}

/**
 * The configured blob store: the S3 bucket when one is set, else `blobs/` in the data dir. The
 * AWS SDK is loaded only when S3 is configured (it costs start-up time and memory).
 */
export async function openBlobStore(storage: StorageConfig, dataDir: string): Promise<BlobStore> {
  if (!storage.s3) return createFsBlobStore(join(dataDir, 'blobs'))
  const { createS3BlobStore } = await import('./s3-blob-store.ts')
  return createS3BlobStore(storage.s3)
}

/** The object store's readiness probe (a tiny put/head/delete), or null for local disk. */
export function objectStoreProbe(blobs: BlobStore): ((signal: AbortSignal) => Promise<void>) | null {
  const probe = (blobs as BlobStore & { probeWritable?: (signal?: AbortSignal) => Promise<void> }).probeWritable
  return probe ? (signal) => probe.call(blobs, signal) : null
}

/** Releases what the store holds open: the S3 client's sockets (local disk holds nothing between calls). */
export function closeBlobStore(blobs: BlobStore): void {
  ;(blobs as BlobStore & { close?: () => void }).close?.()
}

/**
 * Random access to a staged upload wherever it lies: an upload staged in S3 is read in place
 * through ranged GETs (its `openSource`), a local one from its temp file.
 */
export async function openStagedSource(staged: StagedBlob): Promise<RandomAccessSource> {
  const inPlace = (staged as StagedBlob & { openSource?: () => Promise<RandomAccessSource> }).openSource
  return inPlace ? inPlace.call(staged) : openFileSource(staged.path)
}
