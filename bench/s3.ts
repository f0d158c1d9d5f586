/**
 * S3 benchmark: Airstrip with its builds in an object store, against the same operations done
 * directly with the AWS SDK on the same store, in one run. The store is OpenStack Swift + s3api on
 * loopback (scripts/swift-s3.sh, one process per server as deployed); Airstrip runs as
 * `airstrip serve` in its own process over plain HTTP (so TLS costs nothing on either side).
 *
 *   upload    POST /api/v1/builds (stream → multipart upload while hashing → inspection through
 *             ranged GETs → server-side copy to the content-addressed key → record), vs lib-storage
 *             `Upload` of the same file (same part size and concurrency);
 *   proxied   GET of Airstrip's /d/… link (streamed from one ranged GET), vs SDK GetObject;
 *   presigned GET of the presigned URL Airstrip's store mints (bytes never pass through Airstrip),
 *             vs SDK GetObject.
 *
 * Prints MiB/s (median of --runs) and ratios to the SDK baseline measured in the same run, plus the
 * server's peak RSS (VmHWM) after the uploads. It never fails on the figures.
 *
 * Usage: node bench/s3.ts [--size 200M] [--runs 3] [--keep]
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import type { Readable } from 'node:stream'
import { Upload } from '@aws-sdk/lib-storage'
import { createS3BlobStore } from '../src/store/s3-blob-store.ts'
import { createS3Client } from '../src/store/s3-client.ts'
import type { S3Settings } from '../src/store/s3-client.ts'
import { freeLoopbackPorts } from '../test/support/ports.ts'
import { WORK_DIR, defaultParams, ensureIpa, parseSize } from './generate-ipa.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const MiB = 1024 * 1024
const { values: args } = parseArgs({ options: { size: { type: 'string', default: '200M' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } } })
const RUNS = Math.max(1, Number(args.runs))
const log = (line: string): void => void process.stderr.write(`[bench:s3] ${line}\n`)

const children = new Set<ChildProcess>()
let stopSwift = (): void => {}
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  stopSwift()
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))

const ipa = await ensureIpa(defaultParams(parseSize(args.size)), log)
const size = statSync(ipa.path).size
const runDir = mkdtempSync(join(WORK_DIR, 's3-run-'))
log(`file ${ipa.path} (${(size / MiB).toFixed(1)} MiB), run dir ${runDir}, load ${loadavg()[0]?.toFixed(1)}`)

// --- the object store -------------------------------------------------------------------------
const [proxyPort, objectPort, containerPort, accountPort, memcachedPort, airstripPort] = (await freeLoopbackPorts(6)) as [number, number, number, number, number, number]
const swiftEnv = {
  ...process.env,
  SWIFT_S3_BASE: join(runDir, 'swift'),
  SWIFT_S3_PROCESSES: 'per-server',
  PROXY_PORT: String(proxyPort),
  OBJ_PORT: String(objectPort),
  CONT_PORT: String(containerPort),
  ACC_PORT: String(accountPort),
  MEMCACHED_PORT: String(memcachedPort),
}
const started = spawnSync('bash', [join(ROOT, 'scripts/swift-s3.sh'), 'start'], { env: swiftEnv, encoding: 'utf8' })
if (started.status !== 0) throw new Error(`Swift did not start: ${started.stderr}`)
stopSwift = () => void spawnSync('bash', [join(ROOT, 'scripts/swift-s3.sh'), 'stop'], { env: swiftEnv })
const settings: S3Settings = {
  endpoint: `http://127.0.0.1:${proxyPort}`,
  region: 'us-east-1',
  bucket: 'bench',
  accessKeyId: 'test:tester',
  secretAccessKey: 'testing',
  forcePathStyle: true,
  prefix: '',
  publicEndpoint: null,
}
const client = createS3Client(settings)
await client.send(new CreateBucketCommand({ Bucket: settings.bucket }))

// --- Airstrip --------------------------------------------------------------------------------
const env: NodeJS.ProcessEnv = {
  ...process.env,
  AIRSTRIP_INSECURE_HTTP: 'true',
  AIRSTRIP_HOST: '127.0.0.1',
  AIRSTRIP_PORT: String(airstripPort),
  AIRSTRIP_DATA_DIR: join(runDir, 'data'),
  AIRSTRIP_LOG_LEVEL: 'warn',
  AIRSTRIP_S3_BUCKET: settings.bucket,
  AIRSTRIP_S3_ENDPOINT: settings.endpoint!,
  AIRSTRIP_S3_ACCESS_KEY_ID: settings.accessKeyId!,
  AIRSTRIP_S3_SECRET_ACCESS_KEY: settings.secretAccessKey!,
  AIRSTRIP_S3_PATH_STYLE: 'true',
  AIRSTRIP_MAX_UPLOAD_BYTES: String(size * 2),
}
const node = join(ROOT, 'node_modules/.bin/node')
const token = spawnSync(node, ['bin/airstrip.js', 'token', 'create', '--name', 'bench'], { cwd: ROOT, env, encoding: 'utf8' }).stdout.trim()
const server = spawn(node, ['bin/airstrip.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] })
children.add(server)
const base = `http://127.0.0.1:${airstripPort}`
for (let i = 0; ; i++) {
  if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break
  if (i > 600 || server.exitCode !== null) throw new Error('airstrip serve did not start')
  await new Promise((resolve) => setTimeout(resolve, 100))
}

// --- measurements ----------------------------------------------------------------------------
const rate = (ms: number): number => size / MiB / (ms / 1000)
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Drains an HTTP GET; returns its duration in ms after checking the byte count. */
function timedGet(url: string): Promise<number> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      let bytes = 0
      response.on('data', (chunk: Buffer) => void (bytes += chunk.length))
      response.on('end', () => (response.statusCode === 200 && bytes === size ? resolve(performance.now() - start) : reject(new Error(`GET ${url}: ${response.statusCode}, ${bytes} bytes`))))
      response.on('error', reject)
    }).on('error', reject).end()
  })
}

async function sdkUpload(key: string): Promise<number> {
  const start = performance.now()
  await new Upload({ client, params: { Bucket: settings.bucket, Key: key, Body: createReadStream(ipa.path, { highWaterMark: MiB }) }, partSize: 8 * MiB, queueSize: 3 }).done()
  return performance.now() - start
}

async function sdkDownload(key: string): Promise<number> {
  const start = performance.now()
  const { Body } = await client.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }))
  let bytes = 0
  for await (const chunk of Body as Readable) bytes += (chunk as Buffer).length
  if (bytes !== size) throw new Error(`GetObject: ${bytes} bytes`)
  return performance.now() - start
}

async function airstripUpload(): Promise<{ ms: number; build: { id: string; sha256: string } }> {
  const start = performance.now()
  const body = await new Promise<string>((resolve, reject) => {
    const upload = request(`${base}/api/v1/builds`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) } }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => void (text += chunk))
      response.on('end', () => (response.statusCode === 201 ? resolve(text) : reject(new Error(`upload: ${response.statusCode} ${text}`))))
    })
    upload.on('error', reject)
    createReadStream(ipa.path, { highWaterMark: MiB }).pipe(upload)
  })
  return { ms: performance.now() - start, build: JSON.parse(body) }
}

const results = { sdkUpload: [] as number[], airstripUpload: [] as number[], sdkDownload: [] as number[], proxied: [] as number[], presigned: [] as number[] }
const store = createS3BlobStore(settings)
let build: { id: string; sha256: string } | null = null
for (let run = 0; run < RUNS; run++) {
  results.sdkUpload.push(await sdkUpload(`baseline-${run}`))
  if (build) await fetch(`${base}/api/v1/builds/${build.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }) // so each upload copies its blob anew
  const uploaded = await airstripUpload()
  results.airstripUpload.push(uploaded.ms)
  build = uploaded.build
  log(`run ${run + 1}: upload SDK ${rate(results.sdkUpload.at(-1)!).toFixed(0)} MiB/s, Airstrip ${rate(uploaded.ms).toFixed(0)} MiB/s`)
}
const peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
const { manifestUrl } = (await (await fetch(`${base}/api/v1/builds/${build!.id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { manifestUrl: string }
const manifest = await (await fetch(manifestUrl)).text()
const proxiedUrl = /<key>url<\/key>\s*<string>([^<]+\/d\/[^<]+)<\/string>/.exec(manifest)?.[1]?.replaceAll('&amp;', '&')
if (!proxiedUrl) throw new Error('no .ipa URL in the manifest')
const presignedUrl = await store.presignDownload(build!.sha256, { expiresInSeconds: 3600, contentType: 'application/octet-stream' })
for (let run = 0; run < RUNS; run++) {
  results.sdkDownload.push(await sdkDownload('baseline-0'))
  results.proxied.push(await timedGet(proxiedUrl))
  results.presigned.push(await timedGet(presignedUrl))
  log(`run ${run + 1}: download SDK ${rate(results.sdkDownload.at(-1)!).toFixed(0)}, proxied ${rate(results.proxied.at(-1)!).toFixed(0)}, presigned ${rate(results.presigned.at(-1)!).toFixed(0)} MiB/s`)
}

const row = (name: string, ms: number[], baseline: number[]): string =>
  `| ${name} | ${rate(median(ms)).toFixed(0)} MiB/s | ${rate(median(baseline)).toFixed(0)} MiB/s | ${(median(baseline) / median(ms)).toFixed(2)}× |`
process.stdout.write(
  [
    `S3 (Swift s3api on loopback), ${(size / MiB).toFixed(0)} MiB .ipa, median of ${RUNS}, load ${loadavg()[0]?.toFixed(1)}`,
    '',
    '| operation | Airstrip | AWS SDK directly | ratio |',
    '|---|---|---|---|',
    row('upload (+ hash, inspect, copy into place, record)', results.airstripUpload, results.sdkUpload),
    row('download, proxied through Airstrip', results.proxied, results.sdkDownload),
    row('download, presigned URL', results.presigned, results.sdkDownload),
    '',
    `Airstrip server peak RSS after ${RUNS} uploads: ${peakRss.toFixed(0)} MiB`,
    '',
  ].join('\n'),
)

store.close()
for (let run = 0; run < RUNS; run++) await client.send(new DeleteObjectCommand({ Bucket: settings.bucket, Key: `baseline-${run}` }))
server.kill('SIGTERM')
await new Promise((resolve) => server.once('exit', resolve))
stopSwift()
stopSwift = () => {}
if (!args.keep) rmSync(runDir, { recursive: true, force: true })
