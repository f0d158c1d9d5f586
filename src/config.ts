import { resolve } from 'node:path'
import { describeDeviceConfig, readDeviceConfig, type DeviceConfig } from './devices/device-config.ts'
import { describeNotifyConfig, readNotifyConfig, type NotifyConfig } from './notify/notify-config.ts'
import { describeStorageConfig, readStorageConfig, type StorageConfig } from './store/storage-config.ts'

/**
 * Airstrip's configuration: one typed, validated, frozen object built once from flags and the
 * matching AIRSTRIP_* environment variables (flags win), then passed explicitly. Nothing else
 * reads process.env.
 */
export interface Config {
  /** The origin (and optional path prefix) every absolute URL is built from, e.g. https://ota.example.com */
  publicUrl: string
  host: string
  port: number
  dataDir: string
  tls:
    | { mode: 'files'; certPath: string; keyPath: string }
    | { mode: 'dev' }
    | { mode: 'insecure-http' }
    /** Automatic HTTPS: a certificate for `domain` from an ACME CA, renewed in the background (src/tls/acme-*.ts). */
    | { mode: 'acme'; domain: string; email: string | null; directoryUrl: string; caRootPath: string | null }
  /** Plain-HTTP port answering ACME HTTP-01 challenges and redirecting everything else to HTTPS; null: none. */
  httpPort: number | null
  /** /readyz fails when the data dir's file system has less free space than this. */
  minFreeDiskBytes: number
  /** On SIGTERM, in-flight downloads and uploads get this long to finish. */
  shutdownTimeoutSeconds: number
  /** Honour X-Forwarded-Proto/Host/Port from a reverse proxy in front of Airstrip. */
  trustProxy: boolean
  maxUploadBytes: number
  /** Lifetime of the signed manifest/.ipa/icon links an install page hands out. */
  linkTtlSeconds: number
  /** How often the server applies channels' retention rules; 0: only on demand. */
  retentionIntervalSeconds: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Mail, SMS and the delivery outbox's retry policy (src/notify/notify-config.ts). */
  notify: NotifyConfig
  /** Enrolment profile labels, device CA, App Store Connect key (src/devices/device-config.ts). */
  devices: DeviceConfig
  /** PostgreSQL and S3 instead of SQLite and the data dir; proxied or presigned downloads (src/store/storage-config.ts). */
  storage: StorageConfig
}

/** Every setting: its flag, its environment variable, and what it means (the README's table is this list). */
export const SETTINGS = [
  { key: 'publicUrl', flag: '--public-url <url>', env: 'AIRSTRIP_PUBLIC_URL', help: 'public origin testers reach, e.g. https://ota.example.com (default https://localhost:<port>)' },
  { key: 'host', flag: '--host <host>', env: 'AIRSTRIP_HOST', help: 'interface to listen on (default 0.0.0.0)' },
  { key: 'port', flag: '--port <port>', env: 'AIRSTRIP_PORT', help: 'port to listen on (default 8443; 8080 with --insecure-http)' },
  { key: 'dataDir', flag: '--data-dir <dir>', env: 'AIRSTRIP_DATA_DIR', help: 'where the database, builds and certificates live (default ./data)' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: 'AIRSTRIP_TLS_CERT', help: 'PEM certificate (full chain) for HTTPS' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'AIRSTRIP_TLS_KEY', help: 'PEM private key for HTTPS' },
  { key: 'devTls', flag: '--dev-tls', env: 'AIRSTRIP_DEV_TLS', help: 'serve HTTPS with a local CA made in the data dir (default when no certificate is given)' },
  { key: 'insecureHttp', flag: '--insecure-http', env: 'AIRSTRIP_INSECURE_HTTP', help: 'serve plain HTTP (iOS will refuse to install; for a TLS-terminating proxy or local trials)' },
  { key: 'trustProxy', flag: '--trust-proxy', env: 'AIRSTRIP_TRUST_PROXY', help: 'honour X-Forwarded-Proto/Host/Port from a reverse proxy' },
  { key: 'maxUploadBytes', flag: '--max-upload-bytes <n>', env: 'AIRSTRIP_MAX_UPLOAD_BYTES', help: 'largest accepted .ipa (default 4 GiB)' },
  { key: 'linkTtlSeconds', flag: '--link-ttl <seconds>', env: 'AIRSTRIP_LINK_TTL', help: 'lifetime of signed install links (default 86400)' },
  { key: 'retentionInterval', flag: '--retention-interval <seconds>', env: 'AIRSTRIP_RETENTION_INTERVAL', help: 'how often channels\' retention rules run (default 3600; 0: only on demand)' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'AIRSTRIP_LOG_LEVEL', help: 'fatal, error, warn, info, debug, trace or silent (default info)' },
  { key: 'domain', flag: '--domain <name>', env: 'AIRSTRIP_DOMAIN', help: 'get and renew a trusted certificate for this domain automatically (ACME; port 443, public URL https://<domain>)' },
  { key: 'acmeEmail', flag: '--acme-email <email>', env: 'AIRSTRIP_ACME_EMAIL', help: 'contact address for the ACME account (expiry warnings from the CA)' },
  { key: 'acmeDirectory', flag: '--acme-directory <url>', env: 'AIRSTRIP_ACME_DIRECTORY', help: 'ACME directory URL, or letsencrypt / letsencrypt-staging (default letsencrypt)' },
  { key: 'acmeCaRoot', flag: '--acme-ca-root <file>', env: 'AIRSTRIP_ACME_CA_ROOT', help: 'PEM bundle to trust for the ACME server\'s own HTTPS (a private CA)' },
  { key: 'httpPort', flag: '--http-port <port>', env: 'AIRSTRIP_HTTP_PORT', help: 'plain-HTTP port for ACME challenges and redirects to HTTPS (default 80 with --domain, else none; 0: none)' },
  { key: 'minFreeDisk', flag: '--min-free-disk <bytes>', env: 'AIRSTRIP_MIN_FREE_DISK', help: '/readyz fails below this much free space in the data dir (default 1 GiB)' },
  { key: 'shutdownTimeout', flag: '--shutdown-timeout <seconds>', env: 'AIRSTRIP_SHUTDOWN_TIMEOUT', help: 'on SIGTERM, how long in-flight downloads and uploads may take to finish (default 30)' },
  { key: 'smtpUrl', flag: '--smtp-url <url>', env: 'AIRSTRIP_SMTP_URL', help: 'mail testers through this SMTP server, e.g. smtps://user:password@mail.example.com:465' },
  { key: 'mailFrom', flag: '--mail-from <address>', env: 'AIRSTRIP_MAIL_FROM', help: 'sender of notification mail (default "Airstrip <airstrip@<public host>>")' },
  { key: 'smsProvider', flag: '--sms-provider <preset>', env: 'AIRSTRIP_SMS_PROVIDER', help: 'text testers through an HTTP SMS API: twilio or json' },
  { key: 'smsUrl', flag: '--sms-url <url>', env: 'AIRSTRIP_SMS_URL', help: 'the SMS API endpoint (required for json; twilio defaults to its Messages API)' },
  { key: 'smsFrom', flag: '--sms-from <sender>', env: 'AIRSTRIP_SMS_FROM', help: 'sender number or id for SMS' },
  { key: 'smsAuth', flag: '--sms-auth <credentials>', env: 'AIRSTRIP_SMS_AUTH', help: 'twilio: "<account SID>:<auth token>"; json: the Authorization header value' },
  { key: 'smsJsonTemplate', flag: '--sms-json-template <json>', env: 'AIRSTRIP_SMS_JSON_TEMPLATE', help: 'json preset body with {{to}}, {{from}}, {{text}} (default {"to":"{{to}}","from":"{{from}}","text":"{{text}}"})' },
  { key: 'notifyMaxAttempts', flag: '--notify-max-attempts <n>', env: 'AIRSTRIP_NOTIFY_MAX_ATTEMPTS', help: 'attempts per notification before it is marked failed (default 10)' },
  { key: 'notifyRetryBaseMs', flag: '--notify-retry-base-ms <ms>', env: 'AIRSTRIP_NOTIFY_RETRY_BASE_MS', help: 'first retry delay, doubled each attempt, with jitter (default 30000)' },
  { key: 'notifyRetryMaxMs', flag: '--notify-retry-max-ms <ms>', env: 'AIRSTRIP_NOTIFY_RETRY_MAX_MS', help: 'longest delay between attempts (default 3600000)' },
  { key: 'organization', flag: '--organization <name>', env: 'AIRSTRIP_ORGANIZATION', help: 'who testers enrol their devices with: shown in the enrolment profile and pages (default Airstrip)' },
  { key: 'enrollProfileName', flag: '--enroll-profile-name <name>', env: 'AIRSTRIP_ENROLL_PROFILE_NAME', help: 'the enrolment profile\'s name in Settings (default "<organization> device registration")' },
  { key: 'deviceCa', flag: '--device-ca <file>', env: 'AIRSTRIP_DEVICE_CA', help: 'PEM CA (Apple\'s device CA) every enrolling device\'s certificate must chain to (default: recorded, not required)' },
  { key: 'ascIssuerId', flag: '--asc-issuer-id <id>', env: 'AIRSTRIP_ASC_ISSUER_ID', help: 'App Store Connect API issuer id (to register devices with Apple)' },
  { key: 'ascKeyId', flag: '--asc-key-id <id>', env: 'AIRSTRIP_ASC_KEY_ID', help: 'App Store Connect API key id' },
  { key: 'ascKey', flag: '--asc-key <file.p8>', env: 'AIRSTRIP_ASC_KEY', help: 'App Store Connect API private key (.p8)' },
  { key: 'webhookAllowPrivateNetworks', flag: '--webhook-allow-private-networks', env: 'AIRSTRIP_WEBHOOK_ALLOW_PRIVATE_NETWORKS', help: 'let webhooks reach loopback and private addresses (off: SSRF protection)' },
  { key: 'databaseUrl', flag: '--database-url <url>', env: 'AIRSTRIP_DATABASE_URL', help: 'keep metadata in PostgreSQL, e.g. postgres://airstrip:secret@db:5432/airstrip (default: SQLite in the data dir)' },
  { key: 's3Bucket', flag: '--s3-bucket <name>', env: 'AIRSTRIP_S3_BUCKET', help: 'keep builds in this S3 bucket (default: the data dir)' },
  { key: 's3Endpoint', flag: '--s3-endpoint <url>', env: 'AIRSTRIP_S3_ENDPOINT', help: 'S3-compatible endpoint, e.g. https://minio.internal:9000 (default: AWS for the region)' },
  { key: 's3Region', flag: '--s3-region <region>', env: 'AIRSTRIP_S3_REGION', help: 'S3 region (default us-east-1)' },
  { key: 's3AccessKeyId', flag: '--s3-access-key-id <id>', env: 'AIRSTRIP_S3_ACCESS_KEY_ID', help: 'S3 access key (default: the AWS credential chain: environment, instance role, …)' },
  { key: 's3SecretAccessKey', flag: '--s3-secret-access-key <secret>', env: 'AIRSTRIP_S3_SECRET_ACCESS_KEY', help: 'S3 secret key (prefer the environment variable to the flag)' },
  { key: 's3PathStyle', flag: '--s3-path-style', env: 'AIRSTRIP_S3_PATH_STYLE', help: 'path-style S3 URLs (MinIO, Ceph, Swift)' },
  { key: 's3Prefix', flag: '--s3-prefix <prefix>', env: 'AIRSTRIP_S3_PREFIX', help: 'key prefix inside the bucket, e.g. airstrip/' },
  { key: 's3PublicEndpoint', flag: '--s3-public-endpoint <url>', env: 'AIRSTRIP_S3_PUBLIC_ENDPOINT', help: 'the S3 endpoint (or CDN) devices reach, for presigned downloads (default: --s3-endpoint)' },
  { key: 'downloads', flag: '--downloads <mode>', env: 'AIRSTRIP_DOWNLOADS', help: 'proxied (Airstrip streams the .ipa) or presigned (devices fetch it from S3; needs --s3-bucket) (default proxied)' },
] as const

export type SettingKey = (typeof SETTINGS)[number]['key']
export type RawSettings = Partial<Record<SettingKey, string | boolean | undefined>>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Builds the config from parsed flags and the environment; throws ConfigError naming the bad setting. */
export function loadConfig(flags: RawSettings, env: Record<string, string | undefined> = {}): Readonly<Config> {
  const raw = (key: SettingKey): string | boolean | undefined => {
    if (flags[key] !== undefined) return flags[key]
    const setting = SETTINGS.find((s) => s.key === key)!
    return env[setting.env]
  }
  const text = (key: SettingKey): string | undefined => {
    const value = raw(key)
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
  }
  const flag = (key: SettingKey): boolean => {
    const value = raw(key)
    if (typeof value === 'boolean') return value
    if (value === undefined || value === '') return false
    if (/^(1|true|yes|on)$/i.test(value)) return true
    if (/^(0|false|no|off)$/i.test(value)) return false
    throw new ConfigError(`${key}: "${value}" is not a boolean (use true or false)`)
  }
  const integer = (key: SettingKey, fallback: number, min: number, max: number): number => {
    const value = text(key)
    if (value === undefined) return fallback
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new ConfigError(`${key}: "${value}" must be a whole number from ${min} to ${max}`)
    return Number(value)
  }

  const insecure = flag('insecureHttp')
  const certPath = text('tlsCert')
  const keyPath = text('tlsKey')
  const domain = text('domain')
  if ((certPath === undefined) !== (keyPath === undefined)) throw new ConfigError('--tls-cert and --tls-key go together')
  if (insecure && (certPath || flag('devTls'))) throw new ConfigError('--insecure-http cannot be combined with --tls-cert or --dev-tls')
  if (domain && (insecure || certPath || flag('devTls'))) throw new ConfigError('--domain (automatic HTTPS) cannot be combined with --insecure-http, --tls-cert or --dev-tls')
  const tls: Config['tls'] = domain
    ? acmeSettings(domain, text('acmeEmail'), text('acmeDirectory'), text('acmeCaRoot'))
    : insecure ? { mode: 'insecure-http' } : certPath && keyPath ? { mode: 'files', certPath: resolve(certPath), keyPath: resolve(keyPath) } : { mode: 'dev' }

  const port = integer('port', insecure ? 8080 : domain ? 443 : 8443, 0, 65535)
  const publicHost = tls.mode === 'acme' ? tls.domain : 'localhost'
  const publicUrl = normalizePublicUrl(text('publicUrl') ?? `${insecure ? 'http' : 'https'}://${publicHost}${port === (insecure ? 80 : 443) ? '' : `:${port}`}`, insecure)
  const httpPort = integer('httpPort', domain ? 80 : 0, 0, 65535)
  if (insecure && httpPort !== 0) throw new ConfigError('--http-port redirects to HTTPS: it cannot be combined with --insecure-http')
  const logLevel = text('logLevel') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError(`logLevel: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`)

  return Object.freeze({
    publicUrl,
    host: text('host') ?? '0.0.0.0',
    port,
    dataDir: resolve(text('dataDir') ?? 'data'),
    tls: Object.freeze(tls),
    trustProxy: flag('trustProxy'),
    maxUploadBytes: integer('maxUploadBytes', 4 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    linkTtlSeconds: integer('linkTtlSeconds', 24 * 60 * 60, 60, 365 * 24 * 60 * 60),
    retentionIntervalSeconds: integer('retentionInterval', 60 * 60, 0, 7 * 24 * 60 * 60),
    logLevel: logLevel as Config['logLevel'],
    httpPort: httpPort === 0 ? null : httpPort,
    minFreeDiskBytes: integer('minFreeDisk', 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
    shutdownTimeoutSeconds: integer('shutdownTimeout', 30, 0, 24 * 60 * 60),
    notify: Object.freeze(readNotifyConfig({ text, flag, integer, fail: (message) => { throw new ConfigError(message) } }, publicUrl)),
    devices: Object.freeze(readDeviceConfig({ text, flag, integer, fail: (message) => { throw new ConfigError(message) } })),
    storage: Object.freeze(readStorageConfig({ text, flag, fail: (message) => { throw new ConfigError(message) } }, integer('linkTtlSeconds', 24 * 60 * 60, 60, 365 * 24 * 60 * 60))),
  })
}

/** Let's Encrypt's directories, by the short names `--acme-directory` accepts. */
export const ACME_DIRECTORIES = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const

function acmeSettings(domain: string, email: string | undefined, directory: string | undefined, caRoot: string | undefined): Config['tls'] {
  const name = domain.toLowerCase().replace(/\.$/, '')
  // A DNS name: letters, digits and hyphens in dot-separated labels; no wildcards, no IP addresses.
  if (!/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name) || /^[\d.]+$/.test(name)) {
    throw new ConfigError(`domain: "${domain}" is not a DNS name a CA can issue a certificate for`)
  }
  if (email !== undefined && !/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email)) throw new ConfigError(`acmeEmail: "${email}" is not an e-mail address`)
  const directoryUrl = directory === undefined ? ACME_DIRECTORIES.letsencrypt : Object.hasOwn(ACME_DIRECTORIES, directory) ? ACME_DIRECTORIES[directory as keyof typeof ACME_DIRECTORIES] : directory
  if (!/^https:\/\/[^\s]+$/.test(directoryUrl) || !URL.canParse(directoryUrl)) {
    throw new ConfigError(`acmeDirectory: "${directory}" must be an https:// URL or one of ${Object.keys(ACME_DIRECTORIES).join(', ')}`)
  }
  return { mode: 'acme', domain: name, email: email ?? null, directoryUrl, caRootPath: caRoot === undefined ? null : resolve(caRoot) }
}

function normalizePublicUrl(value: string, insecure: boolean): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`publicUrl: "${value}" is not an absolute URL`)
  }
  if (url.protocol !== 'https:' && !(insecure && url.protocol === 'http:')) {
    throw new ConfigError(`publicUrl: "${value}" must be https:// (iOS installs only over HTTPS; --insecure-http allows http://)`)
  }
  if (url.search || url.hash || url.username || url.password) throw new ConfigError(`publicUrl: "${value}" must not carry a query, fragment or credentials`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** The config as printed at start: every value, with secrets and key material masked. */
export function describeConfig(config: Config): string {
  const tls = config.tls.mode === 'files' ? `certificate ${config.tls.certPath}, key ${config.tls.keyPath.replace(/[^/]+$/, '***')}`
    : config.tls.mode === 'acme' ? `automatic (ACME) for ${config.tls.domain} from ${config.tls.directoryUrl}${config.tls.email ? `, contact ${config.tls.email}` : ''}` : config.tls.mode
  return [
    `public URL   ${config.publicUrl}`,
    `listening on ${config.host}:${config.port}`,
    `data dir     ${config.dataDir}`,
    `TLS          ${tls}`,
    `trust proxy  ${config.trustProxy}`,
    `max upload   ${config.maxUploadBytes} bytes`,
    `link TTL     ${config.linkTtlSeconds} s`,
    `retention    ${config.retentionIntervalSeconds ? `every ${config.retentionIntervalSeconds} s` : 'on demand only'}`,
    ...(config.httpPort === null ? [] : [`HTTP port    ${config.httpPort} (ACME challenges, redirects to HTTPS)`]),
    ...describeNotifyConfig(config.notify),
    ...describeDeviceConfig(config.devices),
    ...describeStorageConfig(config.storage),
  ].join('\n')
}
