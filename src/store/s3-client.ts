import { createHash } from 'node:crypto'
import { S3Client } from '@aws-sdk/client-s3'

/** Where an S3-compatible object store is and how to talk to it (from the AIRSTRIP_S3_* settings). */
export interface S3Settings {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000; null: AWS's endpoint for `region`. */
  endpoint: string | null
  region: string
  bucket: string
  /** Both null: the AWS SDK's default credential chain (environment, instance role, …). */
  accessKeyId: string | null
  secretAccessKey: string | null
  /** `https://host/bucket/key` instead of `https://bucket.host/key` (MinIO, Ceph, Swift need it). */
  forcePathStyle: boolean
  /** Prepended to every object key, e.g. `airstrip/`, so one bucket can hold other things too. */
  prefix: string
  /**
   * The endpoint devices reach for presigned downloads, when it differs from `endpoint` (a
   * public name in front of an internal one). The Host header is signed, so the URL must be
   * presigned for exactly this origin.
   */
  publicEndpoint: string | null
}

/**
 * An S3 client that works with AWS and with the S3-compatible engines people run themselves:
 * - checksums only when an operation requires them: the SDK's default (a CRC trailer on
 *   `aws-chunked` streaming uploads) is answered 501 by Swift, older MinIO and Ceph;
 * - `DeleteObjects` with a Content-MD5 header, which those engines still require (the SDK stopped
 *   sending it; AWS accepts it).
 */
export function createS3Client(settings: S3Settings, endpoint: string | null = settings.endpoint): S3Client {
  const client = new S3Client({
    region: settings.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    ...(settings.accessKeyId && settings.secretAccessKey ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  })
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown }
      if (context.commandName === 'DeleteObjectsCommand' && request.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64')
      }
      return next(args)
    },
    { step: 'build', name: 'airstripDeleteObjectsContentMd5' },
  )
  return client
}
