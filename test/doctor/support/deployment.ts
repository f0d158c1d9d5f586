/**
 * Real OTA deployments for doctor's tests: a node http(s) server on a loopback port serving a
 * page, a manifest, an .ipa and an icon the way a static host does (HEAD, single ranges, ETag),
 * where each file can be made to misbehave (no Range, chunked, a lying Content-Length, gzip, a
 * status, any header) and any path can be a hand-written handler (hostile servers).
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { join } from 'node:path'
import type { SecureVersion } from 'node:tls'
import { gzipSync } from 'node:zlib'
import { after } from 'node:test'
import { PNG } from 'pngjs'
import type { CheckResult } from '../../../src/doctor/types.ts'
import { buildManifest } from '../../../src/ota/manifest.ts'
import { itmsServicesUrl } from '../../../src/ota/itms-link.ts'
import { runCli } from '../../support/cli.ts'
import { tempDir } from '../../support/fixtures.ts'

export interface StaticFile {
  body: Buffer | string
  /** Content-Type; null sends none. Default application/octet-stream. */
  type?: string | null
  headers?: Record<string, string>
  status?: number
  /** Honour Range requests (default true). */
  ranges?: boolean
  /** 'exact' (default), 'chunked' (no Content-Length), or a number to declare instead (a lie). */
  contentLength?: 'exact' | 'chunked' | number
  /** Compress with gzip whatever the client asked. */
  gzip?: boolean
}

export type Handler = (request: IncomingMessage, response: ServerResponse) => void
export type Route = StaticFile | Handler

export interface TlsSetup {
  cert: string
  key: string
  minVersion?: SecureVersion
  maxVersion?: SecureVersion
  ciphers?: string
}

export interface Deployment {
  /** e.g. https://localhost:43123 */
  origin: string
  url(path: string): string
  /** Path (without query) → what it serves; change it freely between runs. */
  routes: Record<string, Route>
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>
}

/** Starts a deployment server (https with `tls`, plain http with null); closed when the test ends. */
export async function startDeployment(t: { after(fn: () => unknown): void }, tls: TlsSetup | null, routes: Record<string, Route> = {}): Promise<Deployment> {
  const requests: Deployment['requests'] = []
  const deployment: Partial<Deployment> = { routes, requests }
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    requests.push({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers })
    const route = deployment.routes![(request.url ?? '/').split('?')[0]!]
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    if (typeof route === 'function') route(request, response)
    else serveStatic(request, response, route)
  }
  const server: Server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.minVersion ? { minVersion: tls.minVersion } : {}), ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}), ...(tls.ciphers ? { ciphers: tls.ciphers } : {}) }, handle)
    : createHttpServer(handle)
  server.on('tlsClientError', () => {})
  server.on('clientError', (_error, socket) => socket.destroy())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  const { port } = server.address() as { port: number }
  deployment.origin = `${tls ? 'https' : 'http'}://localhost:${port}`
  deployment.url = (path) => `${deployment.origin}${path}`
  return deployment as Deployment
}

function serveStatic(request: IncomingMessage, response: ServerResponse, file: StaticFile): void {
  const original = Buffer.from(file.body)
  let body = file.gzip ? gzipSync(original) : original
  let status = file.status ?? 200
  const headers: Record<string, string | number> = { etag: `"${createHash('sha256').update(original).digest('hex').slice(0, 32)}"` }
  if (file.type !== null) headers['content-type'] = file.type ?? 'application/octet-stream'
  if (file.ranges !== false) headers['accept-ranges'] = 'bytes'
  if (file.gzip) headers['content-encoding'] = 'gzip'
  const range = /^bytes=(\d*)-(\d*)$/.exec(String(request.headers.range ?? ''))
  if (range && file.ranges !== false && status === 200 && !file.gzip) {
    const size = body.length
    const start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1])
    const end = range[1] === '' || range[2] === '' ? size - 1 : Math.min(size - 1, Number(range[2]))
    if (start > end || start >= size) {
      response.writeHead(416, { 'content-range': `bytes */${size}` }).end()
      return
    }
    status = 206
    headers['content-range'] = `bytes ${start}-${end}/${size}`
    body = body.subarray(start, end + 1)
  }
  if (file.contentLength === undefined || file.contentLength === 'exact') headers['content-length'] = body.length
  else if (typeof file.contentLength === 'number' && status === 200) headers['content-length'] = file.contentLength
  response.writeHead(status, { ...headers, ...file.headers })
  if (request.method === 'HEAD') return void response.end()
  if (typeof file.contentLength === 'number' && status === 200 && file.contentLength > body.length) {
    // A lying Content-Length: send what there is, then hang up.
    response.write(body, () => response.socket?.destroy())
    return
  }
  response.end(body)
}

/** A small valid PNG (for display-image / full-size-image). */
export function pngIcon(size = 57): Buffer {
  return PNG.sync.write(new PNG({ width: size, height: size }))
}

export interface SiteOptions {
  ipa: Buffer
  bundleId: string
  bundleVersion: string | null
  title: string
  /** Declare per-chunk sha256s (10 MiB chunks) in the manifest (default true). */
  hashes?: boolean
}

export interface Site {
  pageUrl: string
  manifestUrl: string
  ipaUrl: string
  iconUrl: string
  link: string
  manifest: string
}

/** Lays a correct deployment out on `deployment`: /index.html, /app/manifest.plist, /app/App.ipa, /app/icon.png. */
export function layOutSite(deployment: Deployment, options: SiteOptions, prefix = '/app'): Site {
  const manifestUrl = deployment.url(`${prefix}/manifest.plist`)
  const ipaUrl = deployment.url(`${prefix}/App.ipa`)
  const iconUrl = deployment.url(`${prefix}/icon.png`)
  const chunkSize = 10 * 1024 * 1024
  const chunks: string[] = []
  for (let at = 0; at < options.ipa.length; at += chunkSize) chunks.push(createHash('sha256').update(options.ipa.subarray(at, at + chunkSize)).digest('hex'))
  const manifest = buildManifest({
    ipaUrl,
    iconUrl,
    bundleId: options.bundleId,
    bundleVersion: options.bundleVersion,
    title: options.title,
    ...(options.hashes === false ? {} : { chunkSize, chunkSha256s: chunks }),
  })
  const link = itmsServicesUrl(manifestUrl, { allowHttp: manifestUrl.startsWith('http:') })
  deployment.routes[`${prefix}/index.html`] = { type: 'text/html; charset=utf-8', body: installPage(link.replaceAll('&', '&amp;')), headers: { 'cache-control': 'no-store' } }
  deployment.routes[`${prefix}/manifest.plist`] = { type: 'text/xml; charset=utf-8', body: manifest, headers: { 'cache-control': 'no-store' } }
  deployment.routes[`${prefix}/App.ipa`] = { type: 'application/octet-stream', body: options.ipa }
  deployment.routes[`${prefix}/icon.png`] = { type: 'image/png', body: pngIcon() }
  return { pageUrl: deployment.url(`${prefix}/index.html`), manifestUrl, ipaUrl, iconUrl, link, manifest }
}

/** An install page with the link in an href (already HTML-escaped by the caller). */
export function installPage(hrefValue: string, extra = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Install</title></head><body><h1>Example</h1><p><a class="button" href="${hrefValue}">Install</a></p>${extra}</body></html>\n`
}

export interface DoctorRun {
  code: number
  stderr: string
  checks: CheckResult[]
  target: string
  check(id: string): CheckResult
  status(id: string): string
}

/** Runs `airstrip doctor <args> --json` through the real CLI entry point. */
export async function doctor(...args: string[]): Promise<DoctorRun> {
  const { code, stdout, stderr } = await runCli(['doctor', ...args, '--json'], process.env)
  const parsed = stdout ? (JSON.parse(stdout) as { target: string; checks: CheckResult[] }) : { target: '', checks: [] }
  const check = (id: string): CheckResult => {
    const found = parsed.checks.find((c) => c.id === id)
    if (!found) throw new Error(`no check ${id} in the report (exit ${code}, stderr: ${stderr})`)
    return found
  }
  return { code, stderr, checks: parsed.checks, target: parsed.target, check, status: (id) => check(id).status }
}

/** Writes PEM text to a temp file (for --ca-file). */
export function pemFile(t: { after(fn: () => void): void }, pem: string): string {
  const path = join(tempDir(t, 'airstrip-doctor-ca-'), 'ca.pem')
  writeFileSync(path, pem)
  return path
}

/**
 * A `{ after }` for resources shared by a whole test file (a server, a temp dir made in `before`):
 * released, last first, when the file's tests are done. Call it at the top level of the file.
 */
export function fileScope(): { after(fn: () => unknown): void } {
  const cleanups: Array<() => unknown> = []
  after(async () => {
    for (const fn of cleanups.reverse()) await fn()
  })
  return { after: (fn) => void cleanups.push(fn) }
}
