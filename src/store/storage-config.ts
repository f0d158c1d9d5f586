import type { SettingKey } from '../config.ts'
import { isPostgresUrl } from './database-url.ts'
import type { S3Settings } from './s3-client.ts'

/**
 * Where metadata and builds live (`Config.storage`). Defaults: SQLite and the local disk in the
 * data dir. With PostgreSQL and S3 configured, instances keep nothing but configuration locally
 * and any number of them can serve behind one load balancer.
 */
export interface StorageConfig {
  /** A `postgres://` URL, or null for SQLite in the data dir. */
  databaseUrl: string | null
  /** The object store for builds and icons, or null for the data dir. */
  s3: S3Settings | null
  /**
   * How devices get the .ipa: `proxied` — Airstrip streams it (Range passed through to the
   * store); `presigned` — the manifest points at a presigned URL of the object store (or a CDN
   * in front of it, via `s3.publicEndpoint`), so the bytes never pass through Airstrip.
   */
  downloads: 'proxied' | 'presigned'
}

/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60

/** What `loadConfig` lends to read settings (its own validators, so errors read alike). */
interface SettingReaders {
  text(key: SettingKey): string | undefined
  flag(key: SettingKey): boolean
  fail(message: string): never
}

/** Reads and checks the storage settings; presigned links must outlive the install links (`linkTtlSeconds`). */
export function readStorageConfig(read: SettingReaders, linkTtlSeconds: number): StorageConfig {
  const databaseUrl = read.text('databaseUrl') ?? null
  if (databaseUrl !== null && (!isPostgresUrl(databaseUrl) || !URL.canParse(databaseUrl))) {
    read.fail('databaseUrl: must be a postgres://user:password@host:port/database URL (leave it unset for SQLite in the data dir)')
  }
  const s3 = readS3(read)
  const downloads = read.text('downloads') ?? 'proxied'
  if (downloads !== 'proxied' && downloads !== 'presigned') read.fail(`downloads: "${downloads}" is not proxied or presigned`)
  if (downloads === 'presigned' && s3 === null) read.fail('downloads: presigned needs builds in S3 (--s3-bucket)')
  if (downloads === 'presigned' && linkTtlSeconds > MAX_PRESIGN_SECONDS) {
    read.fail(`linkTtlSeconds: presigned downloads cannot outlive ${MAX_PRESIGN_SECONDS} s (7 days, the SigV4 limit); lower --link-ttl`)
  }
  return { databaseUrl, s3, downloads }
}

function readS3(read: SettingReaders): S3Settings | null {
  const bucket = read.text('s3Bucket')
  const others = (['s3Endpoint', 's3Region', 's3AccessKeyId', 's3SecretAccessKey', 's3Prefix', 's3PublicEndpoint'] as const).filter((key) => read.text(key) !== undefined)
  if (bucket === undefined) {
    if (others.length > 0 || read.flag('s3PathStyle')) read.fail(`s3Bucket: needed with ${[...others, ...(read.flag('s3PathStyle') ? ['s3PathStyle'] : [])].join(', ')}`)
    return null
  }
  // Bucket names per S3's rules (lowercase, digits, dots, hyphens); anything else is a typo.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) read.fail(`s3Bucket: "${bucket}" is not a valid bucket name`)
  const endpoint = httpUrl(read, 's3Endpoint')
  const publicEndpoint = httpUrl(read, 's3PublicEndpoint')
  const accessKeyId = read.text('s3AccessKeyId') ?? null
  const secretAccessKey = read.text('s3SecretAccessKey') ?? null
  if ((accessKeyId === null) !== (secretAccessKey === null)) read.fail('s3AccessKeyId and s3SecretAccessKey go together (or leave both unset for the AWS default credential chain)')
  const region = read.text('s3Region') ?? 'us-east-1'
  if (!/^[a-z0-9-]{1,40}$/.test(region)) read.fail(`s3Region: "${region}" is not a region name`)
  const prefix = (read.text('s3Prefix') ?? '').replace(/^\/+/, '')
  if (!/^[A-Za-z0-9._\/-]{0,200}$/.test(prefix)) read.fail('s3Prefix: letters, digits, ".", "_", "-" and "/" only')
  return {
    endpoint,
    region,
    bucket,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: read.flag('s3PathStyle'),
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    publicEndpoint,
  }
}

function httpUrl(read: SettingReaders, key: 's3Endpoint' | 's3PublicEndpoint'): string | null {
  const value = read.text(key)
  if (value === undefined) return null
  const url = URL.canParse(value) ? new URL(value) : null
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
    read.fail(`${key}: "${value}" must be an http(s):// URL without credentials, query or fragment`)
  }
  return value.replace(/\/+$/, '')
}

/** Lines for the start-up summary, with credentials masked. */
export function describeStorageConfig(storage: StorageConfig): string[] {
  const database = storage.databaseUrl === null ? 'SQLite in the data dir' : maskPassword(storage.databaseUrl)
  const s3 = storage.s3
  const blobs = s3 === null
    ? 'data dir'
    : `s3://${s3.bucket}/${s3.prefix} at ${s3.endpoint ?? `AWS ${s3.region}`}${s3.forcePathStyle ? ' (path-style)' : ''}, key ${s3.accessKeyId ?? 'from the environment'}, secret ${s3.secretAccessKey ? '***' : '-'}`
  return [`database     ${database}`, `builds       ${blobs}`, `downloads    ${storage.downloads}${s3?.publicEndpoint ? ` via ${s3.publicEndpoint}` : ''}`]
}

function maskPassword(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  for (const key of ['password', 'sslpassword']) if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***')
  return parsed.toString()
}
