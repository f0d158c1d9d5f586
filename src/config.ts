import { resolve } from 'node:path'

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
  /** Honour X-Forwarded-Proto/Host/Port from a reverse proxy in front of Airstrip. */
  trustProxy: boolean
  maxUploadBytes: number
  /** Lifetime of the signed manifest/.ipa/icon links an install page hands out. */
  linkTtlSeconds: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
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
  { key: 'logLevel', flag: '--log-level <level>', env: 'AIRSTRIP_LOG_LEVEL', help: 'fatal, error, warn, info, debug, trace or silent (default info)' },
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
  if ((certPath === undefined) !== (keyPath === undefined)) throw new ConfigError('--tls-cert and --tls-key go together')
  if (insecure && (certPath || flag('devTls'))) throw new ConfigError('--insecure-http cannot be combined with --tls-cert or --dev-tls')
  const tls: Config['tls'] = insecure ? { mode: 'insecure-http' } : certPath && keyPath ? { mode: 'files', certPath: resolve(certPath), keyPath: resolve(keyPath) } : { mode: 'dev' }

  const port = integer('port', insecure ? 8080 : 8443, 0, 65535)
  const publicUrl = normalizePublicUrl(text('publicUrl') ?? `${insecure ? 'http' : 'https'}://localhost${port === (insecure ? 80 : 443) ? '' : `:${port}`}`, insecure)
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
    logLevel: logLevel as Config['logLevel'],
  })
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
  const tls = config.tls.mode === 'files' ? `certificate ${config.tls.certPath}, key ${config.tls.keyPath.replace(/[^/]+$/, '***')}` : config.tls.mode
  return [
    `public URL   ${config.publicUrl}`,
    `listening on ${config.host}:${config.port}`,
    `data dir     ${config.dataDir}`,
    `TLS          ${tls}`,
    `trust proxy  ${config.trustProxy}`,
    `max upload   ${config.maxUploadBytes} bytes`,
    `link TTL     ${config.linkTtlSeconds} s`,
  ].join('\n')
}
