import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { S3Client } from '@aws-sdk/client-s3'
import { createS3Client } from '../../src/store/s3-client.ts'
import type { S3Settings } from '../../src/store/s3-client.ts'
import { freeLoopbackPorts } from './ports.ts'
import { onePerFile, retryOnce } from './shared-process.ts'

const SCRIPT = fileURLToPath(new URL('../../scripts/swift-s3.sh', import.meta.url))
const PYTHON = '/usr/bin/python3'
/** Looks the module up without importing it (importing Swift takes ~1.5 s). */
const FIND_S3API = "import importlib.util as u, os, sys; s = u.find_spec('swift'); sys.exit(s is None or not os.path.isdir(os.path.join(s.submodule_search_locations[0], 'common', 'middleware', 's3api')))"

/**
 * A real S3 engine on loopback (OpenStack Swift + s3api, started by scripts/swift-s3.sh on free
 * ports in a temp dir) that verifies SigV4 signatures. One per test file; a fresh bucket per test.
 */
export interface S3Engine {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  /** Creates an empty bucket and returns settings for it (path-style, the engine's credentials). */
  createBucket(options?: Partial<S3Settings>): Promise<S3Settings>
  /** A client with the engine's credentials, for checks behind the store's back. */
  client: S3Client
  stop(): Promise<void>
}

/** Why the S3 engine cannot run here, or null when it can. */
export function s3EngineUnavailable(): string | null {
  if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', FIND_S3API], { stdio: 'ignore' }).status !== 0) {
    return 'OpenStack Swift is not installed (apt-get install python3-swift memcached): S3 tests skipped'
  }
  return null
}

/** One engine per test file (process), started on first use (~2 s) and stopped when the file's tests end. */
export const sharedS3Engine = onePerFile(startS3Engine)

let bucketCount = 0

export function startS3Engine(): Promise<S3Engine> {
  // A free port taken by someone else before Swift bound it, or a very busy machine: once more, on new ports.
  return retryOnce(startS3EngineOnce, 'retrying on other ports')
}

async function startS3EngineOnce(): Promise<S3Engine> {
  const base = mkdtempSync(join(tmpdir(), 'airstrip-swift-'))
  const [proxy, object, container, account, memcached] = await freeLoopbackPorts(5)
  const env = {
    ...process.env,
    SWIFT_S3_BASE: base,
    PROXY_PORT: String(proxy),
    OBJ_PORT: String(object),
    CONT_PORT: String(container),
    ACC_PORT: String(account),
    MEMCACHED_PORT: String(memcached),
  }
  const run = (command: 'start' | 'stop') => promisify(execFile)('bash', [SCRIPT, command], { env, timeout: 60_000 })
  const stopSync = () => spawnSync('bash', [SCRIPT, 'stop'], { env, stdio: 'ignore' })
  process.on('exit', stopSync)
  try {
    await run('start')
  } catch (error) {
    stopSync()
    process.off('exit', stopSync)
    rmSync(base, { recursive: true, force: true })
    throw new Error(`Swift did not start: ${(error as { stderr?: string }).stderr ?? error}`)
  }
  const endpoint = `http://127.0.0.1:${proxy}`
  const credentials = { region: 'us-east-1', accessKeyId: 'test:tester', secretAccessKey: 'testing' }
  const settingsFor = (bucket: string, options: Partial<S3Settings> = {}): S3Settings => ({
    endpoint,
    region: credentials.region,
    bucket,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    forcePathStyle: true,
    prefix: '',
    publicEndpoint: null,
    ...options,
  })
  const client = createS3Client(settingsFor('unused'))
  return {
    endpoint,
    ...credentials,
    client,
    async createBucket(options) {
      const bucket = `airstrip-test-${process.pid}-${++bucketCount}`
      await client.send(new CreateBucketCommand({ Bucket: bucket }))
      return settingsFor(bucket, options)
    },
    async stop() {
      client.destroy()
      await run('stop').catch(() => stopSync())
      process.off('exit', stopSync)
      rmSync(base, { recursive: true, force: true })
    },
  }
}

/** Every key in a bucket (all pages), for "nothing left behind" checks. */
export async function listAllKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''))
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return keys
}

/** Empties and removes a bucket. */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  const keys = await listAllKeys(client, bucket)
  if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }))
  await client.send(new DeleteBucketCommand({ Bucket: bucket }))
}
