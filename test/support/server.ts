import { createReadStream, statSync } from 'node:fs'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { createApp, type App } from '../../src/app.ts'
import { loadConfig, type RawSettings } from '../../src/config.ts'
import { tempDir } from './fixtures.ts'
import { freeLoopbackPorts } from './ports.ts'

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  text(): string
  json<T = any>(): T
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  body?: Buffer | string | (() => Readable)
}

export interface TestServer {
  app: App
  /** The public origin, e.g. https://localhost:43210 */
  url: string
  dataDir: string
  apiToken: string
  /** A real HTTP(S) request that trusts the server's dev CA and sends no cookies. */
  request(url: string, options?: RequestOptions): Promise<HttpResponse>
  /** Uploads a file through the API as a raw body (streamed). */
  upload(path: string, options?: { notes?: string; token?: string }): Promise<HttpResponse>
  /** Moves the server's clock (links expire against it). */
  setNow(date: Date): void
}

/** A free loopback port (the public URL must name the port before the server listens); see ports.ts. */
export async function freePort(): Promise<number> {
  const [port] = await freeLoopbackPorts(1)
  return port!
}

/**
 * Starts the real app (createApp + listen) on a loopback port with a temp data dir, HTTPS with the
 * dev CA by default; closes it and removes the dir when the test ends.
 */
export async function startServer(t: { after(fn: () => unknown): void }, settings: RawSettings = {}): Promise<TestServer> {
  const dataDir = tempDir(t, 'airstrip-server-')
  const port = await freePort()
  const insecure = settings.insecureHttp === true
  const config = loadConfig({
    host: '127.0.0.1',
    port: String(port),
    dataDir,
    publicUrl: `${insecure ? 'http' : 'https'}://localhost:${port}`,
    logLevel: 'silent',
    ...settings,
  })
  let now: Date | null = null
  const app = await createApp(config, { now: () => now ?? new Date() })
  await app.server.listen({ host: config.host, port })
  t.after(() => app.close())
  const ca = app.services.devCaDer ? `-----BEGIN CERTIFICATE-----\n${app.services.devCaDer.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n` : undefined
  const { token: apiToken } = await app.services.meta.createApiToken('tests')

  const request = (url: string, options: RequestOptions = {}): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      const target = new URL(url)
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest
      const req = send(target, { method: options.method ?? 'GET', headers: options.headers, ca, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: () => body.toString('utf8'), json: () => JSON.parse(body.toString('utf8')) })
        })
      })
      req.on('error', reject)
      const body = options.body
      if (typeof body === 'function') pipeline(body(), req).catch(reject)
      else req.end(body)
    })

  return {
    app,
    url: config.publicUrl,
    dataDir,
    apiToken,
    request,
    setNow: (date) => void (now = date),
    upload: (path, options = {}) =>
      request(`${config.publicUrl}/api/v1/builds${options.notes === undefined ? '' : `?notes=${encodeURIComponent(options.notes)}`}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token ?? apiToken}`,
          'content-type': 'application/octet-stream',
          'content-length': String(statSync(path).size),
        },
        body: () => createReadStream(path),
      }),
  }
}
