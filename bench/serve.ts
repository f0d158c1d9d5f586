/**
 * Serve benchmark: Airstrip against nginx (Debian's, HTTPS with the same certificate, sendfile on)
 * on loopback, in one run:
 *
 *   1. single-stream download of a ~500 MiB .ipa (Airstrip's signed /d/… URL vs the blob file);
 *   2. manifest requests/second and p99 latency with 64 connections (vs a static copy of the plist);
 *   3. upload + ingest of a 1 GiB .ipa through the API (raw body streamed from disk) vs `cp`, and the
 *      server's peak RSS meanwhile;
 *   4. 200 concurrent downloads of a 200 MiB .ipa: the server's peak RSS, every byte checked.
 *
 * Airstrip runs in its own process (bench/serve-server.ts), so do the clients: curl, wrk (or
 * autocannon) and bench/serve-client.ts. Peak RSS is the server process's VmHWM; the server is
 * restarted (same data dir) before phases 3 and 4 so each peak belongs to its workload. nginx and
 * wrk are installed with apt-get when missing (root only). A benchmark prints figures and ratios
 * against the baseline measured in the same run; it never fails on them.
 *
 * Usage: npm run bench:serve [-- --phases 1,2,3,4 --runs 5 --upload-runs 3 --duration 10
 *          --load wrk|autocannon --nginx-workers 1 --concurrency 200 --profile --keep --wait-idle 0]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { ClientResult } from './serve-client.ts'
import { WORK_DIR, defaultParams, ensureIpa, parseSize } from './generate-ipa.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..')
const SERVER = join(HERE, 'serve-server.ts')
const CLIENT = join(HERE, 'serve-client.ts')
const FLOOR = join(HERE, 'serve-floor.ts')
const AUTOCANNON = join(ROOT, 'node_modules/autocannon/autocannon.js')
const MiB = 1024 * 1024

const { values: args } = parseArgs({
  options: {
    phases: { type: 'string', default: '1,2,3,4' },
    'download-size': { type: 'string', default: '500M' },
    'upload-size': { type: 'string', default: '1G' },
    'concurrent-size': { type: 'string', default: '200M' },
    concurrency: { type: 'string', default: '200' },
    runs: { type: 'string', default: '5' },
    'upload-runs': { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    load: { type: 'string', default: 'wrk' },
    'nginx-workers': { type: 'string', default: '1' },
    'log-level': { type: 'string', default: 'warn' },
    'skip-nginx-concurrent': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'wait-idle': { type: 'string', default: '0' },
  },
})
const PHASES = new Set(args.phases.split(',').map((p) => Number(p.trim())))
const RUNS = Math.max(1, Number(args.runs))
const UPLOAD_RUNS = Math.max(1, Number(args['upload-runs']))
const DURATION = Math.max(1, Number(args.duration))
const CONNECTIONS = Math.max(1, Number(args.connections))
const CONCURRENCY = Math.max(1, Number(args.concurrency))
const NGINX_WORKERS = args['nginx-workers']
const PROFILE_DIR = join(WORK_DIR, 'serve-profiles')

const log = (line: string): void => void process.stderr.write(`[bench:serve] ${line}\n`)

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** Runs a command to completion with a hard timeout (SIGKILL); keeps the last 1 MiB of each output. */
function run(command: string, argv: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
    children.add(child)
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => void (stdout = (stdout + chunk).slice(-MiB)))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => void (stderr = (stderr + chunk).slice(-MiB)))
    child.on('error', (error) => {
      clearTimeout(timer)
      children.delete(child)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, stdout, stderr, ms: performance.now() - started })
    })
  })
}

function which(name: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], { encoding: 'utf8' })
  const path = found.stdout.trim().split('\n')[0]
  return found.status === 0 && path ? path : null
}

/** `name` on the PATH, else installed from the first of `packages` apt can install (root only). */
async function ensureTool(name: string, packages: string[]): Promise<string | null> {
  let path = which(name)
  if (path) return path
  if (process.getuid?.() !== 0) return null
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const attempt of [false, true]) {
    if (attempt) await run('apt-get', ['update'], 300_000, env)
    for (const pkg of packages) {
      log(`installing ${pkg} with apt-get ...`)
      const result = await run('apt-get', ['install', '-y', '--no-install-recommends', pkg], 600_000, env)
      path = which(name)
      if (path) return path
      log(`apt-get install ${pkg} failed (${result.code}): ${result.stderr.trim().split('\n').slice(-2).join(' / ')}`)
    }
  }
  return null
}

function readStatus(pid: number): { rssKiB: number; hwmKiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') }
  } catch {
    return null
  }
}

function childPids(parent: number): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent) pids.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** Polls VmRSS of some processes every 50 ms; `stop()` returns the largest sum seen and each one's VmHWM. */
function sampleRss(pids: () => number[]): { stop(): { peakSampledMiB: number; hwmMiB: number } } {
  let peak = 0
  const tick = (): void => {
    const sum = pids().reduce((total, pid) => total + (readStatus(pid)?.rssKiB ?? 0), 0)
    peak = Math.max(peak, sum)
  }
  tick()
  const timer = setInterval(tick, 50)
  return {
    stop() {
      tick()
      clearInterval(timer)
      const hwm = pids().reduce((total, pid) => total + (readStatus(pid)?.hwmKiB ?? 0), 0)
      return { peakSampledMiB: peak / 1024, hwmMiB: hwm / 1024 }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Airstrip and nginx

interface Airstrip {
  url: string
  token: string
  pid: number
  dataDir: string
  certPath: string
  keyPath: string
  stop(): Promise<void>
}

/** Spawns a node child that prints one JSON line once ready; stop() sends SIGTERM (SIGKILL after 15 s). */
async function startJsonChild<T extends { url: string }>(label: string, argv: string[]): Promise<T & { pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk.replace(/^(?=.)/gm, `[${label}] `)))
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s`)), 60_000)
    // Only a JSON line counts: node flags such as --trace-gc also print to stdout.
    createInterface({ input: child.stdout! }).on('line', (text) => {
      if (!text.startsWith('{')) return
      clearTimeout(timer)
      resolve(text)
    })
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before listening`)))
  })
  return {
    ...(JSON.parse(line) as T),
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
      children.delete(child)
    },
  }
}

/** Starts the launcher; pass the previous port on a restart so signed URLs (which name it) stay valid. */
function startAirstrip(dataDir: string, port = 0): Promise<Airstrip> {
  const nodeFlags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []
  return startJsonChild<Airstrip>('airstrip', [...nodeFlags, SERVER, '--data-dir', dataDir, '--port', String(port), '--log-level', args['log-level'], '--exit-with-stdin'])
}

/** A reference server (bench/serve-floor.ts): plain node:https or fastify, same certificate, no Airstrip. */
function startFloor(mode: 'node' | 'fastify', airstrip: Airstrip, manifest: string, ipa: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  return startJsonChild(`floor-${mode}`, [FLOOR, '--mode', mode, '--cert', airstrip.certPath, '--key', airstrip.keyPath, '--manifest', manifest, '--ipa', ipa])
}

interface Nginx {
  url: string
  pid: number
  workers(): number[]
  stop(): Promise<void>
}

async function startNginx(binary: string, prefix: string, www: string, certPath: string, keyPath: string): Promise<Nginx> {
  const port = await freePort()
  mkdirSync(join(prefix, 'logs'), { recursive: true })
  mkdirSync(join(prefix, 'put'), { recursive: true })
  const temp = (name: string): string => `${name}_temp_path ${join(prefix, name)};`
  const conf = join(prefix, 'nginx.conf')
  writeFileSync(
    conf,
    `# Written by bench/serve.ts: a plain static HTTPS server, Debian's nginx, no access log.
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off;
master_process on;
worker_processes ${NGINX_WORKERS};
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs/error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  types { text/xml plist; application/octet-stream ipa; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certPath};
    ssl_certificate_key ${keyPath};
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${www};
    # Phase 3's reference: an HTTPS upload written to disk (temp file, then renamed into place).
    location /upload/ { root ${join(prefix, 'put')}; dav_methods PUT; create_full_put_path on; client_max_body_size 0; }
  }
}
`,
  )
  const child = spawn(binary, ['-p', prefix, '-c', conf, '-e', join(prefix, 'logs/error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  children.add(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk))
  const url = `https://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}${readFileOr(join(prefix, 'logs/error.log'))}`)
    const probe = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `${url}/`], 5000)
    if (/^\d{3}$/.test(probe.stdout) && probe.stdout !== '000') break
    if (i > 100) throw new Error(`nginx did not answer on ${url}`)
    await sleep(100)
  }
  return {
    url,
    pid: child.pid!,
    workers: () => childPids(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
      children.delete(child)
    },
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Clients

/** Uploads an .ipa through the API as a raw body streamed from disk by curl (-T, never read whole). */
async function uploadWithCurl(server: Airstrip, path: string): Promise<{ ms: number; status: number; body: any }> {
  const result = await run(
    'curl',
    [
      '-sS', '-k', '-X', 'POST', '-T', path,
      '-H', 'content-type: application/octet-stream',
      '-H', `authorization: Bearer ${server.token}`,
      '-H', 'expect:',
      '--max-time', '900',
      '-w', '\n%{http_code}',
      `${server.url}/api/v1/builds`,
    ],
    960_000,
  )
  const at = result.stdout.lastIndexOf('\n')
  const status = Number(result.stdout.slice(at + 1))
  const text = result.stdout.slice(0, at)
  if (status !== 201) throw new Error(`upload of ${path} answered ${status}: ${text.slice(0, 500)} ${result.stderr}`)
  return { ms: result.ms, status, body: JSON.parse(text) }
}

async function fetchText(url: string): Promise<string> {
  const result = await run('curl', ['-sS', '-k', '--fail', '--max-time', '30', url], 60_000)
  if (result.code !== 0) throw new Error(`GET ${url}: curl ${result.code} ${result.stderr}`)
  return result.stdout
}

/** One download with curl to /dev/null: bytes/second as curl measures them. */
async function curlDownload(url: string): Promise<{ mibPerSecond: number; bytes: number; status: number }> {
  const result = await run('curl', ['-sS', '-k', '-o', '/dev/null', '--max-time', '600', '-w', '%{http_code} %{size_download} %{speed_download}', url], 660_000)
  const [status, bytes, speed] = result.stdout.trim().split(' ').map(Number) as [number, number, number]
  if (result.code !== 0 || status !== 200) throw new Error(`GET ${url}: curl ${result.code} HTTP ${status} ${result.stderr}`)
  return { mibPerSecond: speed / MiB, bytes, status }
}

interface LoadResult {
  rps: number
  p50Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  errors: number
}

async function loadTest(tool: 'wrk' | 'autocannon', url: string, seconds: number): Promise<LoadResult> {
  if (tool === 'wrk') {
    const result = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '--latency', url], (seconds + 60) * 1000)
    if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr}${result.stdout}`)
    const out = result.stdout
    const ms = (text: string | undefined): number => {
      const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '')
      if (!match) return NaN
      return Number(match[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm']
    }
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
    return {
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      p50Ms: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
      p99Ms: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
      requests: Number(/(\d+) requests in/.exec(out)?.[1]),
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
      errors: socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    }
  }
  const result = await run(process.execPath, [AUTOCANNON, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', url], (seconds + 60) * 1000)
  if (result.code !== 0) throw new Error(`autocannon failed (${result.code}): ${result.stderr}`)
  const json = JSON.parse(result.stdout) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number; timeouts: number }
  return { rps: json.requests.average, p50Ms: json.latency.p50, p99Ms: json.latency.p99, requests: json.requests.total, non2xx: json.non2xx, errors: json.errors + json.timeouts }
}

async function concurrentDownloads(url: string, sha256: string, size: number, pids: () => number[]): Promise<ClientResult & { peakSampledMiB: number; hwmMiB: number }> {
  const sampler = sampleRss(pids)
  const result = await run(
    process.execPath,
    [CLIENT, '--url', url, '--count', String(CONCURRENCY), '--concurrency', String(CONCURRENCY), '--sha256', sha256, '--size', String(size), '--timeout', '1200'],
    1_300_000,
  )
  const rss = sampler.stop()
  if (result.code !== 0) throw new Error(`download client failed (${result.code}): ${result.stderr}`)
  return { ...(JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ClientResult), ...rss }
}

// ---------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
function blobPath(dataDir: string, sha256: string): string {
  return join(dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256)
}
function ipaUrlFromManifest(manifest: string): string {
  const match = /<string>(https:\/\/[^<]*\/d\/[^<]*)<\/string>/.exec(manifest)
  if (!match) throw new Error(`no .ipa URL in the manifest: ${manifest.slice(0, 300)}`)
  return match[1]!.replace(/&amp;/g, '&')
}

interface Row {
  measurement: string
  airstrip: string
  baseline: string
  ratio: string
  goal: string
  met: string
}
const rows: Row[] = []
const notes: string[] = []
const verdict = (ok: boolean): string => (ok ? 'yes' : 'NO')

function printTable(): void {
  const header: Row = { measurement: 'measurement', airstrip: 'Airstrip', baseline: 'baseline', ratio: 'ratio', goal: 'goal', met: 'met?' }
  const keys = Object.keys(header) as (keyof Row)[]
  const widths = keys.map((key) => Math.max(...[header, ...rows].map((row) => row[key].length)))
  const line = (row: Row): string => keys.map((key, i) => (i === 0 ? row[key].padEnd(widths[i]!) : row[key].padStart(widths[i]!))).join(' | ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'))
  for (const row of rows) console.log(line(row))
  console.log(`${'-'.repeat(widths.reduce((a, b) => a + b + 3, -3))}\nRSS rows: "ratio" is the growth over the server's own RSS when idle just after start; "ref" rows are context, not goals.`)
  if (notes.length) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`)
}

// ---------------------------------------------------------------------------------------------
// Main

const curl = which('curl') ?? (await ensureTool('curl', ['curl']))
if (!curl) throw new Error('curl is required')
const nginxBinary = await ensureTool('nginx', ['nginx-light', 'nginx'])
if (!nginxBinary) throw new Error('nginx is missing and could not be installed (needs root and apt-get)')
let loadTool: 'wrk' | 'autocannon' = args.load === 'autocannon' ? 'autocannon' : 'wrk'
if (PHASES.has(2) && loadTool === 'wrk' && !(await ensureTool('wrk', ['wrk']))) {
  log('wrk unavailable: using autocannon')
  loadTool = 'autocannon'
}

const downloadIpa = PHASES.has(1) || PHASES.has(2) ? await ensureIpa(defaultParams(parseSize(args['download-size'])), log) : null
const uploadIpa = PHASES.has(3) ? await ensureIpa(defaultParams(parseSize(args['upload-size'])), log) : null
const concurrentIpa = PHASES.has(4) ? await ensureIpa(defaultParams(parseSize(args['concurrent-size'])), log) : null

// Other work on the machine (2 cores here) skews every figure: optionally wait for it to calm down.
const idleDeadline = Date.now() + Number(args['wait-idle']) * 1000
while (loadavg()[0]! > availableParallelism() / 2 && Date.now() < idleDeadline) {
  log(`waiting for the machine to calm down (load ${loadavg()[0]!.toFixed(2)}) ...`)
  await sleep(15_000)
}
const loadBefore = loadavg()[0]!

mkdirSync(WORK_DIR, { recursive: true })
const runDir = mkdtempSync(join(WORK_DIR, 'serve-run-'))
const dataDir = join(runDir, 'data')
const www = join(runDir, 'www')
mkdirSync(www)
if (args.profile) mkdirSync(PROFILE_DIR, { recursive: true })

const nginxVersion = spawnSync(nginxBinary, ['-v'], { encoding: 'utf8' }).stderr.trim()
const curlVersion = spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]
log(`${nginxVersion}; ${curlVersion}; node ${process.version}; ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} cores; run dir ${runDir}`)

let airstrip = await startAirstrip(dataDir)
let nginx: Nginx | null = null
log(`Airstrip ${airstrip.url} (pid ${airstrip.pid})`)

try {
  // Builds served in phases 1, 2 and 4, uploaded through the API (untimed).
  const served = new Map<string, { sha256: string; size: number; manifestUrl: string; ipaUrl: string }>()
  for (const [key, ipa] of [['download', downloadIpa], ['concurrent', concurrentIpa]] as const) {
    if (!ipa) continue
    log(`uploading ${ipa.path} ...`)
    const { body } = await uploadWithCurl(airstrip, ipa.path)
    const manifest = await fetchText(body.manifestUrl)
    served.set(key, { sha256: body.sha256, size: body.size, manifestUrl: body.manifestUrl, ipaUrl: ipaUrlFromManifest(manifest) })
    symlinkSync(blobPath(dataDir, body.sha256), join(www, `${key}.ipa`))
    if (key === 'download') writeFileSync(join(www, 'manifest.plist'), manifest)
  }
  nginx = await startNginx(nginxBinary, join(runDir, 'nginx'), www, airstrip.certPath, airstrip.keyPath)
  log(`nginx ${nginx.url} (pid ${nginx.pid}, ${NGINX_WORKERS} worker(s))`)

  if (PHASES.has(1)) {
    const build = served.get('download')!
    const floor = await startFloor('node', airstrip, join(www, 'manifest.plist'), join(www, 'download.ipa'))
    log(`phase 1: single-stream download of ${fmt(build.size / MiB)} MiB, ${RUNS} runs each (after one warm-up), interleaved ...`)
    const targets = { airstrip: build.ipaUrl, nginx: `${nginx.url}/download.ipa`, floor: `${floor.url}/download.ipa` }
    const speeds: Record<keyof typeof targets, number[]> = { airstrip: [], nginx: [], floor: [] }
    for (const url of Object.values(targets)) await curlDownload(url)
    for (let i = 0; i < RUNS; i++) {
      for (const [name, url] of Object.entries(targets) as [keyof typeof targets, string][]) {
        const got = await curlDownload(url)
        if (got.bytes !== build.size) throw new Error(`short download from ${name}: ${got.bytes} of ${build.size}`)
        speeds[name].push(got.mibPerSecond)
      }
    }
    await floor.stop()
    for (const [name, list] of Object.entries(speeds)) log(`  ${name} MiB/s: ${list.map((x) => fmt(x, 0)).join(', ')}`)
    const ratio = median(speeds.airstrip) / median(speeds.nginx)
    rows.push({
      measurement: `1. .ipa download ${fmt(build.size / MiB, 0)} MiB, 1 stream (MiB/s, median of ${RUNS})`,
      airstrip: fmt(median(speeds.airstrip)),
      baseline: fmt(median(speeds.nginx)),
      ratio: `${fmt(ratio, 2)}x`,
      goal: '>= 0.8x',
      met: verdict(ratio >= 0.8),
    })
    rows.push({
      measurement: '   ref: bare node:https + fs.createReadStream (1 MiB)',
      airstrip: fmt(median(speeds.floor)),
      baseline: fmt(median(speeds.nginx)),
      ratio: `${fmt(median(speeds.floor) / median(speeds.nginx), 2)}x`,
      goal: '(info)',
      met: '',
    })
  }

  if (PHASES.has(2)) {
    const build = served.get('download')!
    const manifestBytes = statSync(join(www, 'manifest.plist')).size
    log(`phase 2: manifest (${manifestBytes} B) with ${loadTool}, ${CONNECTIONS} connections, ${DURATION} s each after 3 s warm-up ...`)
    const measure = async (url: string): Promise<LoadResult> => {
      await loadTest(loadTool, url, 3)
      return loadTest(loadTool, url, DURATION)
    }
    const mine = await measure(build.manifestUrl)
    const theirs = await measure(`${nginx.url}/manifest.plist`)
    const floors: Record<string, LoadResult> = {}
    for (const mode of ['node', 'fastify'] as const) {
      const floor = await startFloor(mode, airstrip, join(www, 'manifest.plist'), join(www, 'download.ipa'))
      floors[mode] = await measure(`${floor.url}/manifest.plist`)
      await floor.stop()
    }
    log(`  Airstrip: ${JSON.stringify(mine)}\n  nginx:    ${JSON.stringify(theirs)}\n  node:     ${JSON.stringify(floors.node)}\n  fastify:  ${JSON.stringify(floors.fastify)}`)
    for (const [name, r] of Object.entries({ Airstrip: mine, nginx: theirs, ...floors })) {
      if (r.non2xx || r.errors) notes.push(`phase 2: ${name} saw ${r.non2xx} non-2xx answers and ${r.errors} socket errors`)
    }
    const ratio = mine.rps / theirs.rps
    rows.push({
      measurement: `2. manifest req/s, ${CONNECTIONS} conns (${loadTool}, ${DURATION} s, ${manifestBytes} B)`,
      airstrip: fmt(mine.rps, 0),
      baseline: fmt(theirs.rps, 0),
      ratio: `${fmt(ratio, 2)}x`,
      goal: '>= 0.5x',
      met: verdict(ratio >= 0.5),
    })
    rows.push({
      measurement: '   manifest p99 latency (ms)',
      airstrip: fmt(mine.p99Ms, 2),
      baseline: fmt(theirs.p99Ms, 2),
      ratio: `${fmt(mine.p99Ms / theirs.p99Ms, 1)}x`,
      goal: '< 20 ms',
      met: verdict(mine.p99Ms < 20),
    })
    for (const [mode, label] of [['node', 'bare node:https, constant body'], ['fastify', 'fastify route, constant body']] as const) {
      const r = floors[mode]!
      rows.push({
        measurement: `   ref: ${label} (req/s; p99 ${fmt(r.p99Ms, 2)} ms)`,
        airstrip: fmt(r.rps, 0),
        baseline: fmt(theirs.rps, 0),
        ratio: `${fmt(r.rps / theirs.rps, 2)}x`,
        goal: '(info)',
        met: '',
      })
    }
  }

  if (PHASES.has(3)) {
    const ipa = uploadIpa!
    // A fresh server process: its VmHWM is then this workload's peak, not an earlier phase's.
    await airstrip.stop()
    airstrip = await startAirstrip(dataDir, Number(new URL(airstrip.url).port))
    await sleep(500)
    const idle = readStatus(airstrip.pid)
    log(`phase 3: upload + ingest of ${fmt(ipa.bytes / MiB)} MiB vs cp and nginx PUT, 1 warm-up + ${UPLOAD_RUNS} runs each (server restarted, idle RSS ${fmt((idle?.rssKiB ?? 0) / 1024)} MiB) ...`)
    const target = join(runDir, 'cp-target.ipa')
    const putTarget = join(runDir, 'nginx', 'put', 'upload', 'bench.ipa')
    const times = { upload: [] as number[], cp: [] as number[], cpSync: [] as number[], put: [] as number[] }
    const sampler = sampleRss(() => [airstrip.pid])
    for (let i = 0; i <= UPLOAD_RUNS; i++) {
      const counted = i > 0 // the first round warms the page cache and the guest's memory
      await run('sync', [], 300_000) // no earlier writeback in any measurement
      const upload = await uploadWithCurl(airstrip, ipa.path)
      await run('sync', [], 300_000)
      const copy = await run('cp', [ipa.path, target], 300_000)
      if (copy.code !== 0) throw new Error(`cp failed: ${copy.stderr}`)
      const flush = await run('sync', [target], 300_000)
      rmSync(target)
      await run('sync', [], 300_000)
      const put = await run('curl', ['-sS', '-k', '-T', ipa.path, '-H', 'expect:', '--max-time', '900', '-o', '/dev/null', '-w', '%{http_code}', `${nginx.url}/upload/bench.ipa`], 960_000)
      if (!['201', '204'].includes(put.stdout.trim()) || statSync(putTarget).size !== ipa.bytes) throw new Error(`nginx PUT answered ${put.stdout} ${put.stderr}`)
      rmSync(putTarget)
      if (!counted) continue
      times.upload.push(upload.ms)
      times.cp.push(copy.ms)
      times.cpSync.push(copy.ms + flush.ms)
      times.put.push(put.ms)
    }
    const rss = sampler.stop()
    for (const [name, list] of Object.entries(times)) log(`  ${name} ms: ${list.map((x) => fmt(x, 0)).join(', ')}`)
    const up = median(times.upload)
    const row = (measurement: string, baseline: number, goal: string, met: string): Row => ({
      measurement,
      airstrip: fmt(up / 1000, 2),
      baseline: fmt(baseline / 1000, 2),
      ratio: `${fmt(up / baseline, 2)}x`,
      goal,
      met,
    })
    rows.push(row(`3. upload + ingest ${fmt(ipa.bytes / MiB, 0)} MiB vs cp (s, median of ${UPLOAD_RUNS})`, median(times.cp), '<= 2x', verdict(up / median(times.cp) <= 2)))
    rows.push(row('   ref: vs cp + fsync (Airstrip fsyncs the blob)', median(times.cpSync), '(info)', ''))
    rows.push(row('   ref: vs nginx WebDAV PUT, same curl -T, HTTPS', median(times.put), '(info)', ''))
    rows.push({
      measurement: '   server peak RSS during uploads (MiB, VmHWM)',
      airstrip: fmt(rss.hwmMiB),
      baseline: '-',
      ratio: `+${fmt(rss.hwmMiB - (idle?.rssKiB ?? 0) / 1024)}`,
      goal: '< 150 MiB',
      met: verdict(rss.hwmMiB < 150),
    })
    notes.push(`phase 3: Airstrip idle RSS ${fmt((idle?.rssKiB ?? 0) / 1024)} MiB just after start, sampled peak ${fmt(rss.peakSampledMiB)} MiB`)
    notes.push(`phase 3: Airstrip ${fmt(ipa.bytes / MiB / (up / 1000), 0)} MiB/s upload + ingest, nginx PUT ${fmt(ipa.bytes / MiB / (median(times.put) / 1000), 0)} MiB/s, cp ${fmt(ipa.bytes / MiB / (median(times.cp) / 1000), 0)} MiB/s`)
  }

  if (PHASES.has(4)) {
    const build = served.get('concurrent')!
    await airstrip.stop()
    airstrip = await startAirstrip(dataDir, Number(new URL(airstrip.url).port))
    await sleep(500)
    const idle = readStatus(airstrip.pid)
    // The signed URL names the build, not the process: the restarted server honours it (same secret).
    log(`phase 4: ${CONCURRENCY} concurrent downloads of ${fmt(build.size / MiB)} MiB (server restarted, idle RSS ${fmt((idle?.rssKiB ?? 0) / 1024)} MiB) ...`)
    const mine = await concurrentDownloads(build.ipaUrl, build.sha256, build.size, () => [airstrip.pid])
    log(`  Airstrip: ${JSON.stringify(mine)}`)
    let theirs: Awaited<ReturnType<typeof concurrentDownloads>> | null = null
    if (!args['skip-nginx-concurrent']) {
      await nginx.stop()
      nginx = await startNginx(nginxBinary, join(runDir, 'nginx'), www, airstrip.certPath, airstrip.keyPath)
      const workers = nginx.workers
      theirs = await concurrentDownloads(`${nginx.url}/concurrent.ipa`, build.sha256, build.size, workers)
      log(`  nginx:    ${JSON.stringify(theirs)}`)
    }
    const mibps = (r: ClientResult): number => r.bytes / MiB / (r.ms / 1000)
    rows.push({
      measurement: `4. ${CONCURRENCY} x ${fmt(build.size / MiB, 0)} MiB concurrent: server peak RSS (MiB)`,
      airstrip: fmt(mine.hwmMiB),
      baseline: theirs ? `nginx ${fmt(theirs.hwmMiB)}` : '-',
      ratio: `+${fmt(mine.hwmMiB - (idle?.rssKiB ?? 0) / 1024)}`,
      goal: '< 250 MiB',
      met: verdict(mine.hwmMiB < 250),
    })
    rows.push({
      measurement: '   downloads with correct sha256 and size',
      airstrip: `${mine.ok}/${CONCURRENCY}`,
      baseline: theirs ? `${theirs.ok}/${CONCURRENCY}` : '-',
      ratio: '',
      goal: 'all',
      met: verdict(mine.ok === CONCURRENCY),
    })
    rows.push({
      measurement: '   aggregate throughput (MiB/s, client-bound on 2 cores)',
      airstrip: fmt(mibps(mine), 0),
      baseline: theirs ? fmt(mibps(theirs), 0) : '-',
      ratio: theirs ? `${fmt(mibps(mine) / mibps(theirs), 2)}x` : '',
      goal: '(info)',
      met: '',
    })
    notes.push(
      `phase 4: Airstrip idle RSS before ${fmt((idle?.rssKiB ?? 0) / 1024)} MiB, sampled peak ${fmt(mine.peakSampledMiB)} MiB; slowest download ${fmt(mine.slowestMs / 1000)} s; ` +
        `${mine.badHash} bad hash, ${mine.badSize} bad size, ${mine.errors} errors${mine.firstError ? ` (${mine.firstError})` : ''}`,
    )
  }
} finally {
  await airstrip.stop()
  await nginx?.stop()
  if (args.keep) log(`kept ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
  if (args.profile) log(`CPU profiles in ${PROFILE_DIR}`)
}

console.log(`\nload average (1 min) ${loadBefore.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at the end; ${availableParallelism()} cores`)
console.log(`Airstrip vs ${nginxVersion.replace(/^nginx version: /, '')} (${NGINX_WORKERS} worker, HTTPS, same certificate, sendfile on); node ${process.version}; ${curlVersion?.split(' ').slice(0, 2).join(' ')}\n`)
printTable()
