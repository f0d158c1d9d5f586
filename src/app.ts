import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Config } from './config.ts'
import { createPublicUrls, type PublicUrls } from './ota/public-urls.ts'
import { createUrlSigner, type UrlSigner } from './ota/url-token.ts'
import { handleError, handleNotFound } from './server/error-handler.ts'
import { registerRoutes } from './server/routes.ts'
import { registerSecurityHeaders } from './server/security-headers.ts'
import type { BlobStore } from './store/blob-store.ts'
import { openDatabase } from './store/database.ts'
import { createFsBlobStore } from './store/fs-blob-store.ts'
import { createSqliteMetaStore, type MetaStore } from './store/meta-store.ts'
import { ensureDevCertificates } from './tls/dev-certificates.ts'

/** Everything routes need, injected (tests set the clock to make links expire). */
export interface Services {
  config: Readonly<Config>
  meta: MetaStore
  blobs: BlobStore
  signer: UrlSigner
  urls: PublicUrls
  now: () => Date
  /** The dev CA certificate (DER) when Airstrip made its own TLS certificate. */
  devCaDer: Buffer | null
}

export interface AppOptions {
  now?: () => Date
}

export interface App {
  server: FastifyInstance
  services: Services
  close(): Promise<void>
}

/**
 * The composition root: opens the stores, builds the services and the fastify instance, without
 * listening. `airstrip serve` listens; tests and benchmarks call this with a temp data dir.
 */
export async function createApp(config: Readonly<Config>, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? (() => new Date())
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const db = await openDatabase(join(config.dataDir, 'airstrip.db'))
  const meta = createSqliteMetaStore(db)
  const blobs = createFsBlobStore(join(config.dataDir, 'blobs'))
  await blobs.cleanTemp(60 * 60 * 1000)
  const signer = createUrlSigner({ secret: await loadOrCreateSecret(config.dataDir), now })
  const urls = createPublicUrls(config.publicUrl)

  let https: { cert: string; key: string; minVersion: 'TLSv1.2' } | null = null
  let devCaDer: Buffer | null = null
  if (config.tls.mode === 'files') {
    https = { cert: await readFile(config.tls.certPath, 'utf8'), key: await readFile(config.tls.keyPath, 'utf8'), minVersion: 'TLSv1.2' }
  } else if (config.tls.mode === 'dev') {
    const hosts = [...new Set([new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, ''), 'localhost', '127.0.0.1'])]
    const dev = await ensureDevCertificates(join(config.dataDir, 'certs'), hosts)
    https = { cert: dev.certPem, key: dev.keyPem, minVersion: 'TLSv1.2' }
    devCaDer = dev.caCertDer
  }

  const server = Fastify({
    ...(https ? { https } : {}),
    logger: {
      level: config.logLevel,
      // Signed tokens are credentials: keep them out of the logs.
      serializers: { req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactTokens(req.url), remoteAddress: req.ip }) },
    },
    trustProxy: config.trustProxy,
    // Signed tokens travel in the path (iOS's installer sends no cookies): allow them whole.
    routerOptions: { maxParamLength: 1024 },
    // Uploads are streamed by our own parsers; this cap applies to JSON bodies only.
    bodyLimit: 1024 * 1024,
    // Big uploads over slow links take a while: no request timeout, but headers must come promptly.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance
  const services: Services = { config, meta, blobs, signer, urls, now, devCaDer }
  registerSecurityHeaders(server, { hsts: config.tls.mode === 'files' })
  server.setErrorHandler(handleError)
  server.setNotFoundHandler(handleNotFound)
  await registerRoutes(server, services)
  if (config.trustProxy) warnOnForwardedMismatch(server, config.publicUrl)

  return {
    server,
    services,
    async close() {
      await server.close()
      await meta.close()
    },
  }
}

/** The HMAC secret for signed URLs: generated into the data dir on first start, kept 0600. */
async function loadOrCreateSecret(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, 'url-signing.key')
  try {
    const existing = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url')
    if (existing.length >= 32) return existing
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const secret = randomBytes(32)
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, `${secret.toString('base64url')}\n`, { mode: 0o600, flush: true })
  await rename(temp, path)
  return secret
}

/** Paths that carry a signed token, with the token replaced. */
export function redactTokens(url: string): string {
  return url.replace(/^\/(m|d|icon)\/[^/?]+/, '/$1/<token>')
}

/**
 * Behind a proxy, URLs are still built from the public URL; a proxy that forwards another
 * host/scheme usually means testers get links they can't reach (reverse proxies leaking the
 * internal host or http scheme are a classic cause of "Unable to install"). Warn once per host.
 */
function warnOnForwardedMismatch(server: FastifyInstance, publicUrl: string): void {
  const expected = new URL(publicUrl)
  const warned = new Set<string>()
  server.addHook('onRequest', async (request) => {
    const seen = `${request.protocol}://${request.host}`
    const expectedOrigin = `${expected.protocol.slice(0, -1)}://${expected.host}`
    if (seen !== expectedOrigin && !warned.has(seen) && warned.size < 100) {
      warned.add(seen)
      request.log.warn({ forwarded: seen, publicUrl }, 'the forwarded origin differs from --public-url; links are built from --public-url')
    }
  })
}
