import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import type { S3Client } from '@aws-sdk/client-s3'

/**
 * Copies an object inside a bucket, server-side: one CopyObject up to `singleCopyLimit` (S3 allows
 * 5 GiB), else a multipart upload of UploadPartCopy ranges, aborted if any part fails.
 */
export async function copyObject(
  client: S3Client,
  copy: { bucket: string; from: string; to: string; size: number; singleCopyLimit: number; copyPartSize: number; concurrency: number },
): Promise<void> {
  const { bucket, to } = copy
  const CopySource = `${bucket}/${copy.from.split('/').map(encodeURIComponent).join('/')}`
  if (copy.size <= copy.singleCopyLimit) {
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource, MetadataDirective: 'REPLACE', ContentType: 'application/octet-stream' }))
    return
  }
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: to, ContentType: 'application/octet-stream' }))
  try {
    const ranges: Array<[number, number]> = []
    for (let start = 0; start < copy.size; start += copy.copyPartSize) ranges.push([start, Math.min(copy.size, start + copy.copyPartSize) - 1])
    const parts = await mapLimited(ranges, copy.concurrency, async ([start, end], index) => {
      const part = await client.send(new UploadPartCopyCommand({ Bucket: bucket, Key: to, UploadId, PartNumber: index + 1, CopySource, CopySourceRange: `bytes=${start}-${end}` }))
      return { PartNumber: index + 1, ETag: part.CopyPartResult?.ETag }
    })
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }))
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId })).catch(() => {})
    throw error
  }
}

/**
 * Removes what crashed instances left under `prefix` before `cutoff` (ms since the epoch): temp
 * objects, and multipart uploads that made no progress since. Another instance's upload may run
 * for hours over a slow link, so an upload counts as dead only when its newest part is old too.
 * Returns how many were removed.
 */
export async function removeStaleStaging(client: S3Client, bucket: string, prefix: string, cutoff: number): Promise<number> {
  let removed = 0
  for await (const object of listObjects(client, bucket, prefix)) {
    if (object.Key && object.LastModified && object.LastModified.getTime() < cutoff) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }))
      removed++
    }
  }
  for await (const upload of listUploads(client, bucket, prefix)) {
    if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated.getTime() >= cutoff) continue
    const newestPart = await newestPartTime(client, bucket, upload.Key, upload.UploadId)
    if (newestPart !== null && newestPart >= cutoff) continue
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId })).catch((error: unknown) => {
      // Another instance cleaning up at the same moment got there first.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw error
    })
    removed++
  }
  return removed
}

async function* listObjects(client: S3Client, bucket: string, prefix: string) {
  let ContinuationToken: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }))
    yield* page.Contents ?? []
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (ContinuationToken)
}

async function* listUploads(client: S3Client, bucket: string, prefix: string) {
  let KeyMarker: string | undefined
  let UploadIdMarker: string | undefined
  for (;;) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, UploadIdMarker }))
    yield* page.Uploads ?? []
    if (!page.IsTruncated) return
    KeyMarker = page.NextKeyMarker
    UploadIdMarker = page.NextUploadIdMarker
  }
}

async function newestPartTime(client: S3Client, bucket: string, key: string, uploadId: string): Promise<number | null> {
  let newest: number | null = null
  let PartNumberMarker: string | undefined
  for (;;) {
    const page = await client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker }))
    for (const part of page.Parts ?? []) newest = Math.max(newest ?? 0, part.LastModified?.getTime() ?? 0)
    if (!page.IsTruncated) return newest
    PartNumberMarker = page.NextPartNumberMarker
  }
}

/** Runs `work` over `items` with at most `limit` at once; results in input order. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index] as T, index)
    }
  })
  await Promise.all(lanes)
  return results
}
