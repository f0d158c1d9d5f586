import { randomBytes } from 'node:crypto'
import { AirstripError } from '../errors.ts'
import type { IpaInfo } from '../ipa/types.ts'
import { standaloneInstallPageModel } from '../ota/install-page.ts'
import { itmsServicesUrl } from '../ota/itms-link.ts'
import { manifestOfBuild } from '../ota/manifest.ts'
import { ipaFileName } from '../ota/public-urls.ts'
import { qrCodeSvg } from '../ota/qr-code.ts'
import type { ChunkedDigest } from '../store/chunked-hasher.ts'
import type { AppRecord, BuildRecord } from '../store/records.ts'
import { standaloneInstallView } from '../web/page-views.ts'
import { renderPage } from '../web/render.ts'

/**
 * What a static host must send for each file. Apple's deployment reference: `.plist` as `text/xml`,
 * `.ipa` as `application/octet-stream`.
 */
export const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  plist: 'text/xml',
  png: 'image/png',
  ipa: 'application/octet-stream',
} as const

export interface DeploymentFile {
  /** File name inside the output folder (ASCII, URL-safe). */
  name: string
  /** Absolute URL of the file once uploaded under the base URL. */
  url: string
  contentType: string
}

/** The files of a static deployment and the URLs that tie them together. */
export interface DeploymentPlan {
  baseUrl: string
  pageUrl: string
  manifestUrl: string
  ipaUrl: string
  iconUrl: string | null
  itmsServicesUrl: string
  files: { page: DeploymentFile; manifest: DeploymentFile; ipa: DeploymentFile; icon: DeploymentFile | null }
}

/** Everything the manifest and page need about the .ipa besides its metadata: its hashes. */
export interface DeploymentDigest extends ChunkedDigest {
  chunkSize: number
}

/**
 * Normalises `--base-url`: an absolute https URL (iOS installs only over https), no query,
 * fragment or credentials, ending with "/". The path is percent-encoded once to RFC 3986 (WHATWG
 * URL leaves `|`, `^`, `[`… and stray `%` as they are, which NSURL refuses); iOS decodes the
 * itms-services `url` parameter once, so everything after that must already be a valid URL.
 */
export function parseBaseUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AirstripError('invalid-base-url', `--base-url is not an absolute URL: ${text}`)
  }
  if (url.protocol !== 'https:') throw new AirstripError('invalid-base-url', `--base-url must be https:// (iOS installs only over https): ${text}`)
  if (url.username || url.password || url.search || url.hash || text.includes('#') || text.includes('?')) {
    throw new AirstripError('invalid-base-url', `--base-url must not carry credentials, a query or a fragment: ${text}`)
  }
  const path = url.pathname
    .replace(/%(?![0-9A-Fa-f]{2})/g, '%25')
    .replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
  return `${url.origin}${path.endsWith('/') ? path : `${path}/`}`
}

/**
 * Names and URLs of the deployment. The .ipa gets the same ASCII slug name as on the server
 * ("Tres-Bon-App-1.2.ipa"): a space or non-ASCII character in the .ipa URL breaks installs.
 */
export function planDeployment(baseUrl: string, info: IpaInfo, hasIcon: boolean): DeploymentPlan {
  const at = (name: string, contentType: string): DeploymentFile => ({ name, url: new URL(name, baseUrl).href, contentType })
  const page = at('index.html', CONTENT_TYPES.html)
  const manifest = at('manifest.plist', CONTENT_TYPES.plist)
  const ipa = at(`${ipaFileName(info.name, info.version)}.ipa`, CONTENT_TYPES.ipa)
  const icon = hasIcon ? at('icon.png', CONTENT_TYPES.png) : null
  return {
    baseUrl,
    pageUrl: page.url,
    manifestUrl: manifest.url,
    ipaUrl: ipa.url,
    iconUrl: icon?.url ?? null,
    itmsServicesUrl: itmsServicesUrl(manifest.url),
    files: { page, manifest, ipa, icon },
  }
}

/** The manifest, with the same builder and the same fields as the server's manifest route. */
export function deploymentManifest(plan: DeploymentPlan, info: IpaInfo, digest: DeploymentDigest): string {
  const build = { name: info.name, version: info.version, build: info.build, info, ...digest }
  return manifestOfBuild(build, { ipaUrl: plan.ipaUrl, iconUrl: plan.iconUrl }).toString('utf8')
}

/**
 * The install page as one standalone HTML file: the server's model, view and templates, with the
 * page itself deciding between Install button and QR code (see `standaloneInstallPageModel`), the
 * CSS inline and the QR code as inline SVG of the page's own URL.
 */
export async function deploymentPage(plan: DeploymentPlan, info: IpaInfo, digest: DeploymentDigest, now: Date): Promise<string> {
  const createdAt = now.toISOString()
  const app: AppRecord = { id: 'export', bundleId: info.bundleId, name: info.name, createdAt, updatedAt: createdAt }
  const build: BuildRecord = {
    id: 'export',
    appId: app.id,
    bundleId: info.bundleId,
    name: info.name,
    version: info.version,
    build: info.build,
    size: digest.size,
    sha256: digest.sha256,
    chunkSize: digest.chunkSize,
    chunkSha256s: digest.chunkSha256s,
    iconSha256: null,
    notes: null,
    fileName: plan.files.ipa.name,
    createdAt,
    info: { ...info, sha256: digest.sha256 },
    channel: 'main',
    keep: false,
  }
  const model = standaloneInstallPageModel({
    app,
    build,
    history: [build],
    urls: { installPage: plan.pageUrl, manifest: plan.manifestUrl, itms: plan.itmsServicesUrl, icon: plan.iconUrl },
    now,
  })
  const qrSvg = model.showQr ? await qrCodeSvg(model.qrText) : null
  return renderPage('install', standaloneInstallView({ model, qrSvg, nonce: randomBytes(16).toString('base64') }))
}
