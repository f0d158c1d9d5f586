/** Every absolute URL Airstrip hands out, all derived from the configured public URL. */
export interface PublicUrls {
  /** Scheme, host and port only, e.g. "https://example.com" (no path prefix). */
  origin: string
  /** The path prefix without a trailing slash: "" or e.g. "/ota". */
  basePath: string
  /** True when the public URL is https (iOS refuses to install from anything else). */
  isHttps: boolean
  installPage(buildId: string): string
  appPage(appId: string): string
  home(): string
  manifest(token: string): string
  /** `fileName` is the stem from `ipaFileName`; ".ipa" is appended (never doubled). */
  ipa(token: string, fileName: string): string
  icon(token: string): string
  caCertificate(): string
  caProfile(): string
  /** `path` is relative to the API root: api('builds/abc') → "<base>/api/builds/abc". */
  api(path: string): string
}

const ID = /^[A-Za-z0-9_-]{1,200}$/
const TOKEN = /^[A-Za-z0-9._-]{1,600}$/
const FILE_STEM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/
const API_PATH = /^[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/

/**
 * Builds every absolute URL from the configured public URL, never from the request: behind a
 * reverse proxy the Host header, scheme and port seen by the server are often internal, and a
 * manifest URL pointing at them is unreachable from the phone ("Open in iTunes?" then nothing, or
 * "Cannot connect to <host>"). Nothing else in Airstrip concatenates origins.
 *
 * Path segments are checked, not encoded: iOS percent-decodes the manifest URL once before parsing
 * it, so any escaped character would have to be escaped twice. Only path-safe ids reach a URL.
 */
export function createPublicUrls(publicUrl: string): PublicUrls {
  let parsed: URL
  try {
    parsed = new URL(publicUrl)
  } catch {
    throw new Error(`public URL is not an absolute URL: ${publicUrl}`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('public URL must be http(s)')
  if (parsed.username || parsed.password) throw new Error('public URL must not contain credentials')
  if (parsed.search || parsed.hash) throw new Error('public URL must not have a query or fragment')
  if (!/^[A-Za-z0-9._~/-]*$/.test(parsed.pathname)) throw new Error('public URL path must be plain ASCII without escapes')

  const origin = parsed.origin
  const basePath = parsed.pathname.replace(/\/+$/, '')
  const base = origin + basePath
  const at = (path: string): string => base + path

  return {
    origin,
    basePath,
    isHttps: parsed.protocol === 'https:',
    installPage: (buildId) => at(`/i/${segment(buildId, ID, 'build id')}`),
    appPage: (appId) => at(`/apps/${segment(appId, ID, 'app id')}`),
    home: () => at('/'),
    manifest: (token) => at(`/m/${segment(token, TOKEN, 'token')}/manifest.plist`),
    ipa: (token, fileName) => at(`/d/${segment(token, TOKEN, 'token')}/${segment(fileName.replace(/\.ipa$/i, ''), FILE_STEM, 'file name')}.ipa`),
    icon: (token) => at(`/icon/${segment(token, TOKEN, 'token')}.png`),
    caCertificate: () => at('/ca.crt'),
    caProfile: () => at('/ca.mobileconfig'),
    api: (path) => {
      const relative = path.replace(/^\/+/, '')
      if (!API_PATH.test(relative) || relative.includes('//') || relative.split(/[/?]/).some((part) => part === '..' || part === '.')) {
        throw new Error(`unsafe API path: ${path}`)
      }
      return at(`/api/${relative}`)
    },
  }
}

function segment(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value) || value === '.' || value === '..') throw new Error(`${what} is not path-safe: ${JSON.stringify(value)}`)
  return value
}

const MAX_NAME = 80
const MAX_VERSION = 40

/**
 * The file name (without ".ipa") under which an .ipa is served: an ASCII slug of the app name and
 * version, e.g. "Très Bon App", "1.2" → "Tres-Bon-App-1.2". iOS decodes the manifest URL once and a
 * literal space (or any non-ASCII character) in the .ipa URL breaks the install (HockeyKit's old
 * warning: "make sure the IPA filename has no space in it"). Never empty: falls back to "app".
 */
export function ipaFileName(name: string, version: string | null): string {
  const stem = slug(name, MAX_NAME) || 'app'
  const suffix = version === null ? '' : slug(version, MAX_VERSION)
  return suffix ? `${stem}-${suffix}` : stem
}

function slug(text: string, max: number): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // "é" → "e" + combining accent → "e"
    .replace(/[^A-Za-z0-9._]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/\.{2,}/g, '.')
    .slice(0, max)
    .replace(/^[-._]+|[-._]+$/g, '')
}
