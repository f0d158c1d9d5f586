import type { Config } from '../config.ts'
import { ipaFileName } from '../ota/public-urls.ts'
import type { BlobStore } from '../store/blob-store.ts'
import type { BuildRecord } from '../store/records.ts'
import type { S3BlobStore } from '../store/s3-blob-store.ts'
import { MAX_PRESIGN_SECONDS } from '../store/storage-config.ts'

/** The .ipa URL a manifest names, given Airstrip's own signed link for it. */
export type IpaUrlResolver = (build: BuildRecord, signedUrl: string) => Promise<string>

/**
 * How manifests point at the .ipa (`config.storage.downloads`):
 * - `proxied`: Airstrip's signed `/d/<token>/<name>.ipa`, streamed from the blob store with Range
 *   passed through;
 * - `presigned`: a presigned GET of the object store (or of the CDN named by its public endpoint),
 *   so the bytes never pass through Airstrip. It lives a minute longer than the signed link minted
 *   with it (within S3's 7-day cap; the config refuses longer link lifetimes), so an install that
 *   the token still allows is never refused by the object store.
 */
export function createIpaUrlResolver(config: Readonly<Config>, blobs: BlobStore): IpaUrlResolver {
  if (config.storage.downloads !== 'presigned') return async (_build, signedUrl) => signedUrl
  const store = blobs as Partial<S3BlobStore>
  if (typeof store.presignDownload !== 'function') throw new Error('presigned downloads need the S3 blob store')
  const presign = store.presignDownload.bind(blobs)
  const expiresInSeconds = Math.min(MAX_PRESIGN_SECONDS, config.linkTtlSeconds + 60)
  return (build) => presign(build.sha256, { expiresInSeconds, contentType: 'application/octet-stream', fileName: `${ipaFileName(build.name, build.version)}.ipa` })
}
