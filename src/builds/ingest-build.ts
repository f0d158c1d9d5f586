import type { Readable } from 'node:stream'
import type { BlobStore, StagedBlob } from '../store/blob-store.ts'
import { asInsufficientStorage } from '../store/disk-full.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { AppRecord, BuildRecord } from '../store/records.ts'

/** Apple's sample manifest hashes the .ipa in 10 MiB chunks (`sha256-size`). */
export const MANIFEST_CHUNK_SIZE = 10 * 1024 * 1024

export interface IngestDeps {
  blobs: BlobStore
  meta: MetaStore
  now: () => Date
  maxUploadBytes: number
}

/** Streams an upload to a temp file while hashing it (whole file and 10 MiB chunks), nothing recorded yet. */
export async function stageUpload(deps: IngestDeps, body: Readable): Promise<StagedBlob> {
  return deps.blobs.stage(body, { maxBytes: deps.maxUploadBytes, chunkSize: MANIFEST_CHUNK_SIZE })
}

/**
 * Turns a staged upload into a build: inspect it (refusing what is not a usable IPA), store the
 * icon, commit the blob (fsync + rename), then record app + build in one transaction. On any
 * failure the staged file is discarded and nothing is recorded.
 */
export async function ingestStagedBuild(
  deps: IngestDeps,
  staged: StagedBlob,
  upload: { fileName: string | null; notes: string | null; accept?: ((bundleId: string) => void) | undefined; channel?: string | undefined },
): Promise<{ app: AppRecord; build: BuildRecord }> {
  try {
    // Loaded at the first upload, not at start-up: a server that only serves downloads never needs
    // inspect's certificate, plist and ZIP dependencies in memory.
    const { inspectStaged } = await import('./inspect-staged.ts')
    const { info, iconPng } = await inspectStaged(staged, { now: deps.now(), sha256: staged.sha256 })
    // A refusal here (an app-bound API token uploading another app) stores nothing.
    upload.accept?.(info.bundleId)
    // Queued in-process, then locked across instances sharing the database (PostgreSQL).
    return await blobReferences.exclusive(() => deps.meta.withBlobReferencesLock(async () => {
      const iconSha256 = iconPng ? await deps.blobs.putBytes(iconPng) : null
      await staged.commit()
      return deps.meta.insertBuild({
      bundleId: info.bundleId,
      name: info.name,
      version: info.version,
      build: info.build,
      size: staged.size,
      sha256: staged.sha256,
      chunkSize: MANIFEST_CHUNK_SIZE,
      chunkSha256s: staged.chunkSha256s,
      iconSha256,
      notes: upload.notes,
      fileName: upload.fileName,
      createdAt: deps.now().toISOString(),
      info,
      channel: upload.channel,
      })
    }))
  } catch (error) {
    // The icon, the commit or SQLite hit a full disk: a 507 that says so (a committed blob whose build was never recorded is removed by startup recovery).
    throw asInsufficientStorage(error)
  } finally {
    await staged.discard()
  }
}

/** Deletes a build and whichever blobs no other build still references. */
export async function deleteBuild(deps: Pick<IngestDeps, 'blobs' | 'meta'>, id: string): Promise<BuildRecord | null> {
  return blobReferences.exclusive(() => deps.meta.withBlobReferencesLock(async () => {
    const build = await deps.meta.deleteBuild(id)
    if (!build) return null
    for (const listener of deletionListeners.get(deps.meta) ?? []) listener(build.id)
    if ((await deps.meta.countBuildsWithSha256(build.sha256)) === 0) await deps.blobs.delete(build.sha256)
    if (build.iconSha256 && (await deps.meta.countBuildsWithIconSha256(build.iconSha256)) === 0) await deps.blobs.delete(build.iconSha256)
    return build
  }))
}

/**
 * Calls `listener` with the id of every build `deleteBuild` removes from this store, right after
 * the row is gone: for in-memory copies derived from a build (the manifest cache) that must not
 * outlive it. Returns the function that unsubscribes.
 */
export function onBuildDeleted(meta: MetaStore, listener: (buildId: string) => void): () => void {
  let listeners = deletionListeners.get(meta)
  if (!listeners) deletionListeners.set(meta, (listeners = new Set()))
  listeners.add(listener)
  return () => void listeners.delete(listener)
}

/** Per store, not global: tests run several apps in one process. */
const deletionListeners = new WeakMap<MetaStore, Set<(buildId: string) => void>>()

/**
 * "Commit blob + record build" and "forget build + delete unreferenced blob" must not interleave:
 * otherwise a delete could remove the blob an identical upload just found already stored. Both are
 * short (the upload's streaming and inspection happen outside), so one in-process queue suffices.
 */
const blobReferences = {
  tail: Promise.resolve() as Promise<unknown>,
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work)
    this.tail = run.catch(() => {})
    return run
  },
}
