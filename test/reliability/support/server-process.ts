/**
 * The real server as a child process (`bin/airstrip.js serve`, plain HTTP on loopback), plain
 * HTTP helpers that stream files and hash what they receive, and an inspection of a data dir at
 * rest: builds against blobs on disk, temp files, and SQLite's integrity check.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { main } from '../../../src/cli/main.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface ServerProcess {
  url: string
  child: ChildProcess
  output(): string
  /** SIGKILL, then waits for the process to be gone. */
  kill9(): Promise<void>
  /** SIGTERM (graceful drain), then waits; resolves with the exit code. */
  stop(): Promise<number | null>
}

/** Runs an `airstrip` CLI command in-process against `dataDir`; returns its stdout (throws on a non-zero exit). */
export async function cli(args: string[]): Promise<string> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } }, {})
  if (code !== 0) throw new Error(`airstrip ${args.join(' ')} exited ${code}: ${stderr}`)
  return stdout
}

/**
 * Starts `airstrip serve` on `dataDir`; resolves once /healthz answers (or rejects if the process
 * dies first). The process is killed when the test ends, whatever happened.
 */
export async function spawnServer(t: { after(fn: () => unknown): void }, dataDir: string, port: number, extraArgs: string[] = [], options: { waitHealthy?: boolean } = {}): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [join(ROOT, 'bin/airstrip.js'), 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port), '--insecure-http', '--public-url', url, '--log-level', 'warn', ...extraArgs], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-20_000)))
  child.stderr!.on('data', (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-20_000)))
  const exited = once(child, 'exit')
  t.after(() => server.kill9())
  const server: ServerProcess = {
    url,
    child,
    output: () => output,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      return child.exitCode
    },
  }
  if (options.waitHealthy !== false) {
    for (let tries = 0; ; tries++) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`serve exited early (${child.exitCode ?? child.signalCode}):\n${output}`)
      const ok = await get(`${url}/healthz`).then((r) => r.status === 200, () => false)
      if (ok) break
      if (tries > 600) throw new Error(`serve did not become healthy:\n${output}`)
      await sleep(50)
    }
  }
  return server
}

export interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: Buffer
}

/** One HTTP request; `body` may be a file path to stream. Rejects on network errors (resets, refusals). */
export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | { file: string } } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => (res.complete ? resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) : reject(new Error('response cut short'))))
    })
    req.on('error', reject)
    const body = options.body
    if (body && 'file' in body) pipeline(createReadStream(body.file), req).catch(reject)
    else req.end(body)
  })
}

export const get = (url: string, headers?: Record<string, string>): Promise<Reply> => send(url, headers ? { headers } : {})

/** Uploads a file as a raw body; resolves with the reply (201 or a refusal) or rejects on a network error. */
export function upload(server: { url: string }, token: string, file: string, query = ''): Promise<Reply> {
  return send(`${server.url}/api/v1/builds${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(file).size) },
    body: { file },
  })
}

/** The signed .ipa URL a build's manifest names (what iOS downloads). */
export async function ipaUrlOf(server: { url: string }, token: string, buildId: string): Promise<string> {
  const build = await get(`${server.url}/api/v1/builds/${buildId}`, { authorization: `Bearer ${token}` })
  if (build.status !== 200) throw new Error(`build ${buildId}: ${build.status} ${build.body}`)
  const manifest = await get(JSON.parse(build.body.toString()).manifestUrl)
  const match = /<key>url<\/key>\s*<string>([^<]+\.ipa[^<]*)<\/string>/.exec(manifest.body.toString())
  if (!match) throw new Error(`no .ipa URL in the manifest of ${buildId}`)
  return match[1]!.replaceAll('&amp;', '&')
}

/** Downloads a build the way a device does (manifest → .ipa) and returns the SHA-256 of what came. */
export async function downloadSha256(server: { url: string }, token: string, buildId: string): Promise<string> {
  const reply = await get(await ipaUrlOf(server, token, buildId))
  if (reply.status !== 200) throw new Error(`download of ${buildId}: ${reply.status}`)
  return createHash('sha256').update(reply.body).digest('hex')
}

export interface DataDirState {
  builds: Array<{ id: string; sha256: string; iconSha256: string | null; size: number }>
  /** Blob keys on disk with their sizes. */
  blobs: Map<string, number>
  buildsWithoutBlob: string[]
  blobsWithoutBuild: string[]
  /** Anything that looks like a leftover temp file, anywhere under the data dir. */
  tempFiles: string[]
  integrity: string
}

/** Reads a data dir's database (read-only, beside a running server is fine with WAL) and blob folder. */
export function inspectDataDir(dataDir: string): DataDirState {
  const db = new DatabaseSync(join(dataDir, 'airstrip.db'), { readOnly: true })
  let builds: DataDirState['builds']
  let integrity: string
  try {
    builds = (db.prepare('select id, sha256, icon_sha256, size from builds').all() as Array<Record<string, unknown>>).map((row) => ({ id: String(row['id']), sha256: String(row['sha256']), iconSha256: (row['icon_sha256'] as string | null) ?? null, size: Number(row['size']) }))
    integrity = (db.prepare('PRAGMA integrity_check').all() as Array<Record<string, string>>).map((row) => Object.values(row)[0]).join('; ')
  } finally {
    db.close()
  }
  const blobs = new Map<string, number>()
  const sha = join(dataDir, 'blobs', 'sha256')
  if (existsSync(sha)) {
    for (const ab of readdirSync(sha)) for (const cd of readdirSync(join(sha, ab))) for (const key of readdirSync(join(sha, ab, cd))) blobs.set(key, statSync(join(sha, ab, cd, key)).size)
  }
  const referenced = new Set(builds.flatMap((b) => (b.iconSha256 ? [b.sha256, b.iconSha256] : [b.sha256])))
  const tempFiles: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.tmp$|^\.write-probe-/.test(entry.name) || dir.endsWith(join('blobs', 'tmp'))) tempFiles.push(path)
    }
  }
  walk(dataDir)
  return {
    builds,
    blobs,
    buildsWithoutBlob: builds.filter((b) => blobs.get(b.sha256) !== b.size).map((b) => b.id),
    blobsWithoutBuild: [...blobs.keys()].filter((key) => !referenced.has(key)),
    tempFiles,
    integrity,
  }
}
