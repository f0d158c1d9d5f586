import { isAirstripError } from '../errors.ts'
import { isPlistDict, parsePlistDict } from '../ipa/plist.ts'
import type { PlistDict, PlistValue } from '../ipa/types.ts'

export interface ManifestFinding {
  severity: 'error' | 'warning'
  message: string
}

/** The hashes a manifest declares for its software package (SHA-256 wins over MD5 on the device). */
export interface DeclaredHashes {
  algorithm: 'sha256' | 'md5'
  whole: string | null
  chunkSize: number | null
  chunks: string[] | null
}

export interface ManifestAsset {
  kind: string | null
  url: string | null
}

/** What a manifest says, and what is wrong with it (matrix row 9 and §B.3). */
export interface ManifestFacts {
  format: 'xml' | 'binary' | 'unreadable'
  findings: ManifestFinding[]
  itemCount: number
  /** Assets of the item diagnosed (the first with a software package). */
  assets: ManifestAsset[]
  softwarePackageUrl: string | null
  hashes: DeclaredHashes | null
  images: Array<{ kind: 'display-image' | 'full-size-image'; url: string }>
  bundleId: string | null
  bundleVersion: string | null
  kind: string | null
  title: string | null
}

const KNOWN_ASSET_KINDS = new Set(['software-package', 'display-image', 'full-size-image', 'asset-pack-manifest', 'newsstand-image'])
const HEX = { sha256: /^[0-9a-fA-F]{64}$/, md5: /^[0-9a-fA-F]{32}$/ } as const

/**
 * Reads manifest bytes as iOS would and validates them against Apple's `ManifestURL` schema: the
 * XML declaration must be the first bytes (no BOM, no whitespace), and `items[].assets[]` must
 * hold a software package with a URL while `items[].metadata` holds `bundle-identifier`,
 * `kind = software` and `title`. Parsing is the hostile-input-safe parser of `src/ipa/plist.ts`.
 */
export function readManifest(bytes: Buffer): ManifestFacts {
  const facts: ManifestFacts = {
    format: 'unreadable',
    findings: [],
    itemCount: 0,
    assets: [],
    softwarePackageUrl: null,
    hashes: null,
    images: [],
    bundleId: null,
    bundleVersion: null,
    kind: null,
    title: null,
  }
  const error = (message: string): void => void facts.findings.push({ severity: 'error', message })
  const warning = (message: string): void => void facts.findings.push({ severity: 'warning', message })

  const head = bytes.subarray(0, 512).toString('latin1')
  if (/^\s*(<!doctype html|<html)/i.test(head)) {
    error('it is an HTML page, not a property list (a login or error page served instead of the manifest?)')
    return facts
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) error('it starts with a UTF-8 byte-order mark: "<?xml" must be the very first bytes')
  else if (/^\s+</.test(head)) error('it starts with whitespace before "<?xml": the XML declaration must be the very first bytes')

  let root: PlistDict
  try {
    root = parsePlistDict(bytes, 'the manifest')
  } catch (cause) {
    if (!isAirstripError(cause)) throw cause
    // A bare "&" (a classic hand-templated manifest bug) is refused here as by Apple's XML parser;
    // the message names it: 'malformed XML (unescaped "&" at line 5, column 20: write &amp;)'.
    error(`it is not a valid property list: ${cause.message}`)
    return facts
  }
  facts.format = head.startsWith('bplist') ? 'binary' : 'xml'
  if (facts.format === 'binary') warning("it is a binary property list; Apple documents (and Xcode writes) XML manifests")

  const items = root['items']
  if (!Array.isArray(items) || items.length === 0) {
    error(items === undefined ? 'the required "items" array is missing' : '"items" must be a non-empty array')
    return facts
  }
  facts.itemCount = items.length
  const dicts = items.filter(isPlistDict)
  if (dicts.length !== items.length) error('every entry of "items" must be a dictionary')
  const item = dicts.find((candidate) => assetsOf(candidate).some((asset) => asset.kind === 'software-package')) ?? dicts[0]
  if (!item) return facts

  const rawAssets = item['assets']
  if (!Array.isArray(rawAssets) || rawAssets.length === 0) error('the item has no "assets" array')
  facts.assets = assetsOf(item)
  for (const [index, asset] of facts.assets.entries()) {
    if (!asset.kind) error(`asset ${index + 1} has no "kind"`)
    else if (!KNOWN_ASSET_KINDS.has(asset.kind)) warning(`asset ${index + 1} has an unknown kind "${asset.kind}"`)
    if (!asset.url) error(`asset ${index + 1}${asset.kind ? ` (${asset.kind})` : ''} has no "url"`)
  }
  const packages = facts.assets.filter((asset) => asset.kind === 'software-package')
  if (packages.length === 0) error('no asset has kind "software-package": there is nothing to install')
  if (packages.length > 1) warning('the item has more than one software-package asset; iOS uses one')
  facts.softwarePackageUrl = packages[0]?.url ?? null
  const packageDict = Array.isArray(rawAssets) ? rawAssets.filter(isPlistDict).find((asset) => asset['kind'] === 'software-package') : undefined
  if (packageDict) facts.hashes = readHashes(packageDict, error)
  for (const asset of facts.assets) {
    if ((asset.kind === 'display-image' || asset.kind === 'full-size-image') && asset.url) facts.images.push({ kind: asset.kind, url: asset.url })
  }

  const metadata = item['metadata']
  if (!isPlistDict(metadata)) {
    error('the required "metadata" dictionary is missing')
    return facts
  }
  facts.bundleId = text(metadata['bundle-identifier'])
  facts.bundleVersion = text(metadata['bundle-version'])
  facts.kind = text(metadata['kind'])
  facts.title = text(metadata['title'])
  if (!facts.bundleId) error('metadata has no "bundle-identifier" (iOS 8+ requires it to equal the app\'s CFBundleIdentifier)')
  if (facts.kind === null) error('metadata has no "kind" (it must be "software")')
  else if (facts.kind !== 'software') error(`metadata "kind" is "${facts.kind}", not "software"`)
  if (facts.title === null) error('metadata has no "title" (shown in the install prompt)')
  return facts
}

function assetsOf(item: PlistDict): ManifestAsset[] {
  const assets = item['assets']
  if (!Array.isArray(assets)) return []
  return assets.map((asset) => (isPlistDict(asset) ? { kind: text(asset['kind']), url: text(asset['url']) } : { kind: null, url: null }))
}

function readHashes(asset: PlistDict, error: (message: string) => void): DeclaredHashes | null {
  for (const algorithm of ['sha256', 'md5'] as const) {
    const whole = asset[algorithm]
    const size = asset[`${algorithm}-size`]
    const chunks = asset[`${algorithm}s`]
    if (whole === undefined && size === undefined && chunks === undefined) continue
    const declared: DeclaredHashes = { algorithm, whole: null, chunkSize: null, chunks: null }
    if (whole !== undefined) {
      if (typeof whole === 'string' && HEX[algorithm].test(whole)) declared.whole = whole.toLowerCase()
      else error(`"${algorithm}" is not a ${algorithm.toUpperCase()} hex digest`)
    }
    if (chunks !== undefined || size !== undefined) {
      const chunkSize = typeof size === 'bigint' ? Number(size) : size
      if (typeof chunkSize !== 'number' || !Number.isSafeInteger(chunkSize) || chunkSize <= 0) error(`"${algorithm}s" needs a positive integer "${algorithm}-size"`)
      else if (!Array.isArray(chunks) || chunks.length === 0 || !chunks.every((c: PlistValue) => typeof c === 'string' && HEX[algorithm].test(c))) {
        error(`"${algorithm}s" must be a non-empty array of ${algorithm.toUpperCase()} hex digests`)
      } else {
        declared.chunkSize = chunkSize
        declared.chunks = (chunks as string[]).map((c) => c.toLowerCase())
      }
    }
    // "If both SHA-256 and MD5 are present, the device uses only the SHA-256 hashes" (Apple's sample).
    return declared.whole || declared.chunks ? declared : null
  }
  return null
}

function text(value: PlistValue | undefined): string | null {
  return typeof value === 'string' ? value : null
}
