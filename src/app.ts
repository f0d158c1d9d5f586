import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Config } from './config.ts'
import { createPublicUrls, type PublicUrls } from './ota/public-urls.ts'
import { createUrlSigner, type UrlSigner } from './ota/url-token.ts'
import { handleError } from './server/error-handler.ts'
import { createNotFoundHandler } from './server/not-found-page.ts'
import { registerRoutes } from './server/routes.ts'
import { registerSecurityHeaders } from './server/security-headers.ts'
import type { BlobStore } from './store/blob-store.ts'
import { openDatabase } from './store/database.ts'
import { closeBlobStore, databaseLocation, objectStoreProbe, openBlobStore } from './store/open-stores.ts'
import { sharedSecret } from './store/shared-secrets.ts'
import { createIpaUrlResolver, type IpaUrlResolver } from './server/ipa-download-url.ts'
import { createSqliteMetaStore, type MetaStore } from './store/meta-store.ts'
import { ensureDevCertificates } from './tls/dev-certificates.ts'
import { notifyDeviceEnrollments } from './notify/device-enrollments.ts'
import { createNotificationService, type NotificationService, type NotificationServiceDeps } from './notify/notification-service.ts'
import { createSecretBox, loadSecretBox } from './notify/secret-box.ts'
import { createSqliteNotificationStore } from './store/notifications.ts'
import { recoverAtStartup } from './store/startup-recovery.ts'
import { createDeviceService, profileSigningFromTls, type DeviceService } from './devices/device-service.ts'
import { createSqlDeviceStore } from './store/devices.ts'
import { createAccountService, type AccountService } from './accounts/account-service.ts'
import { createSqlAccountStore } from './store/accounts.ts'
import { createSqlUploadIdempotencyStore, type UploadIdempotencyStore } from './store/upload-idempotency.ts'
import { createChannelServices, type ChannelServices } from './channels/channel-services.ts'
import { loggerOptions, requestId } from './ops/logging.ts'
import { createOperations, type Operations } from './ops/operations.ts'
import { registerAnalyticsQueueMetrics } from './ops/analytics-metrics.ts'
import { registerHttpsLifecycle } from './server/https-lifecycle.ts'
import { registerRequestMetrics } from './server/request-metrics.ts'
import { lazySchemaCompilers } from './server/lazy-schema-compilers.ts'
import type { AcmeManager } from './tls/acme-manager.ts'
import { fixedTlsState } from './tls/tls-state.ts'
import type { TlsOptions } from 'node:tls'


/** How long a client may take to send its request headers. */
const HEADERS_TIMEOUT_MS = 15_000
/** How often Node looks for connections past that deadline. */
const CONNECTIONS_CHECK_MS = 2_000
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
  /** Readiness, metrics, the certificate in service (src/ops). */
  ops: Operations
  /** Device enrolment, the device list, App Store Connect; `devices.onEnrolled(…)` for `device.enrolled`. */
  devices: DeviceService
  /** Testers, groups, webhooks and the delivery outbox (src/notify); its worker runs while the app does. */
  notifications: NotificationService
  /** The .ipa URL manifests name: the signed proxied link, or a presigned object-store URL (src/server/ipa-download-url.ts). */
  ipaUrl: IpaUrlResolver
  /** Users, sign-in sessions and first-run setup of the admin UI (src/accounts). */
  accounts: AccountService
  /** Channels, access to install, install analytics, retention (src/channels). */
  access: ChannelServices['access']
  analytics: ChannelServices['analytics']
  runRetention: ChannelServices['runRetention']
  /** Idempotency-Key of uploads: a retried upload answers with its first build (src/server/upload-idempotency.ts). */
  uploadKeys: UploadIdempotencyStore
}

export interface AppOptions {
  now?: () => Date
  /** Tests: other senders, a short lease or poll interval for the notification worker. */
  notify?: NotificationServiceDeps['overrides']
  /** Tests: App Store Connect at a local https origin, with its CA. */
  appStoreConnectEndpoint?: { baseUrl: string; ca?: string }
  /** Tests: how often instances sharing PostgreSQL look for a TLS certificate another renewed (default 60 s). */
  tlsPollIntervalMs?: number
}

export interface App {
  server: FastifyInstance
  services: Services
  /** Compiles every route's schemas not compiled yet, returning how many; they otherwise compile on a route's first request (tests call this). */
  compileSchemas(): number
  close(): Promise<void>
}

/**
 * The composition root: opens the stores, builds the services and the fastify instance, without
 * listening. `airstrip serve` listens; tests and benchmarks call this with a temp data dir.
 */
export async function createApp(config: Readonly<Config>, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? (() => new Date())
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const db = await openDatabase(databaseLocation(config.storage, config.dataDir))
  const meta = createSqliteMetaStore(db)
  const blobs = await openBlobStore(config.storage, config.dataDir)
  await blobs.cleanTemp(60 * 60 * 1000)
  // Instances sharing PostgreSQL share their keys through it: a link minted by one verifies on all.
  const signer = createUrlSigner({ secret: config.storage.databaseUrl ? await sharedSecret(db, 'url-signing') : await loadOrCreateSecret(config.dataDir), now })
  const urls = createPublicUrls(config.publicUrl)

  let https: TlsOptions | null = null
  let acme: AcmeManager | null = null
  let devCaDer: Buffer | null = null
  if (config.tls.mode === 'files') {
    https = { cert: await readFile(config.tls.certPath, 'utf8'), key: await readFile(config.tls.keyPath, 'utf8'), minVersion: 'TLSv1.2' }
  } else if (config.tls.mode === 'dev') {
    const hosts = [...new Set([new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, ''), 'localhost', '127.0.0.1'])]
    // Instances sharing PostgreSQL serve one development CA, kept in the database (src/tls/shared-dev-certificates.ts).
    const dev = config.storage.databaseUrl
      ? await (await import('./tls/shared-dev-certificates.ts')).ensureSharedDevCertificates(await (await import('./store/tls-records.ts')).openSharedDevCertificates(db), hosts)
      : await ensureDevCertificates(join(config.dataDir, 'certs'), hosts)
    https = { cert: dev.certPem, key: dev.keyPem, minVersion: 'TLSv1.2' }
    devCaDer = dev.caCertDer
  } else if (config.tls.mode === 'acme') {
    // Loaded only in --domain mode: acme-client and its HTTP stack cost ~20 MiB of idle RSS.
    const { prepareAcme } = await import('./tls/acme-manager.ts')
    // Instances sharing PostgreSQL keep account, certificate and challenges there; one orders at a time (src/store/tls-records.ts).
    const shared = config.storage.databaseUrl ? { shared: await (await import('./store/tls-records.ts')).openSharedAcmeState(db, config.tls.directoryUrl), pollIntervalMs: options.tlsPollIntervalMs } : {}
    acme = await prepareAcme({ ...config.tls, certsDir: join(config.dataDir, 'certs'), httpChallenges: config.httpPort !== null, ...shared })
    https = acme.tls.serverOptions
  }

  const schemaCompilers = lazySchemaCompilers()
  const server = Fastify({
    // https.Server takes http.Server's timing options: check header deadlines every few seconds, not every 30.
    ...(https ? { https: { ...https, headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_MS } } : {}),
    // Signed tokens are credentials: keep them out of the logs (and every other secret: src/ops/logging.ts).
    logger: loggerOptions(config.logLevel, redactTokens),
    genReqId: requestId,
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
    schemaController: { compilersFactory: schemaCompilers.compilersFactory },
  }) as unknown as FastifyInstance
  // Node's own header deadline is about a minute and a half with requestTimeout off: a client trickling
  // headers (slowloris) would hold a socket that long. Headers of real clients arrive in milliseconds.
  server.server.headersTimeout = HEADERS_TIMEOUT_MS
  const tlsState = acme ?? fixedTlsState(typeof https?.cert === 'string' ? https.cert : null, config.tls.mode === 'files' ? 'files' : 'dev')
  const ops = createOperations({ config, db, blobsRoot: join(config.dataDir, 'blobs'), probeObjectStore: objectStoreProbe(blobs), tls: tlsState, acme, now })
  // ACME certificates renew while running: profiles are signed with whichever issued pair is in service now.
  const acmeManager = acme
  const fixedProfileSigning = acmeManager ? null : profileSigningFromTls(https, devCaDer)
  const profileSigning = acmeManager
    ? () => { const pair = acmeManager.issuedPair(); return pair && profileSigningFromTls({ cert: pair.certPem, key: pair.keyPem }, null) }
    : () => fixedProfileSigning
  const devices = await createDeviceService({
    config: config.devices, store: createSqlDeviceStore(db), signer, urls, now, profileSigning,
    ...(options.appStoreConnectEndpoint ? { appStoreConnectEndpoint: options.appStoreConnectEndpoint } : {}),
    logError: (error, message) => server.log.error({ err: error }, message),
  })
  const notifications = createNotificationService({
    store: createSqliteNotificationStore(db, { now }), secrets: config.storage.databaseUrl ? createSecretBox(await sharedSecret(db, 'notify-secret-box')) : await loadSecretBox(config.dataDir), config: config.notify, urls, meta, blobs, now,
    log: server.log.child({ component: 'notify' }), ...(options.notify ? { overrides: options.notify } : {}),
    // Built below (it needs this service); the worker only sends after notifications.start().
    access: () => channelServices.access,
  })
  notifyDeviceEnrollments(devices, notifications)
  await recoverAtStartup({ db, meta, blobs, dataDir: config.dataDir, storage: config.storage, now, log: server.log.child({ component: 'recovery' }), announce: (app, build) => notifications.buildCreated(app, build) })
  const { startRetention, ...channelServices } = createChannelServices({ db, meta, blobs, notifications, signer, urls, config, now, log: server.log.child({ component: 'channels' }) })
  const services: Services = { config, meta, blobs, signer, urls, now, devCaDer, ops, devices, notifications, ipaUrl: createIpaUrlResolver(config, blobs), accounts: createAccountService({ store: createSqlAccountStore(db, { now }), now }), uploadKeys: createSqlUploadIdempotencyStore(db, { now }), ...channelServices }
  registerSecurityHeaders(server, { hsts: config.tls.mode === 'files' || config.tls.mode === 'acme' })
  registerRequestMetrics(server, ops.metrics)
  registerAnalyticsQueueMetrics(ops.metrics.registry, channelServices.analytics.queueStats)
  registerHttpsLifecycle(server, config, acme)
  server.setErrorHandler(handleError)
  server.setNotFoundHandler(createNotFoundHandler(services))
  await registerRoutes(server, services)
  if (config.trustProxy) warnOnForwardedMismatch(server, config.publicUrl)
  notifications.start()
  const retention = startRetention(config.retentionIntervalSeconds)

  return {
    server,
    services,
    compileSchemas: schemaCompilers.compileAll,
    async close() {
      await server.close()
      await retention.stop()
      await channelServices.analytics.settled()
      await notifications.stop()
      await meta.close()
      closeBlobStore(blobs)
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
  return url.replace(/^\/(m|d|icon|enroll|t)\/[^/?]+/, '/$1/<token>')
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
