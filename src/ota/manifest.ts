import { build } from 'plist'

/** What goes into an OTA manifest; derive it from the parsed .ipa, never from CI-supplied strings. */
export interface ManifestInput {
  ipaUrl: string
  iconUrl?: string | null
  /** Must equal the .ipa's CFBundleIdentifier: iOS 8+ refuses the install otherwise. */
  bundleId: string
  /** Shown nowhere and not enforced by iOS; null omits the key. */
  bundleVersion: string | null
  /** Shown in the prompt: "<manifest host> would like to install <title>". */
  title: string
  /** Apple: "maps to the developer name". */
  subtitle?: string | null
  /** SHA-256 of the whole .ipa (hex). Ignored when chunk hashes are given. */
  sha256?: string
  /** Chunk size of `chunkSha256s` in bytes (Apple's sample uses 10 MiB). */
  chunkSize?: number
  chunkSha256s?: string[]
}

type Dict = { [key: string]: string | number | string[] | Dict | Dict[] }

const SHA256 = /^[0-9a-fA-F]{64}$/
/** Characters XML 1.0 cannot carry at all, even escaped (the plist serializer throws on them). */
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * The itms-services manifest (the `ManifestURL` plist of Apple's device-management schema) for one
 * app, as an XML string whose first bytes are `<?xml`: iOS rejects a manifest with a BOM or
 * whitespace before the declaration. It is serialised with the plist library so `&`, `<`, `]]>` and
 * the like in titles and URLs are escaped (hand-built XML is a classic "invalid manifest" cause).
 *
 * Assets: the software package, with per-chunk `sha256-size` + `sha256s` when given (the device
 * re-fetches a single failed chunk instead of the whole file) or else a whole-file `sha256`; then
 * `display-image` and `full-size-image`, both pointing at the icon when there is one.
 */
export function buildManifest(input: ManifestInput): string {
  if (!input.ipaUrl) throw new Error('manifest needs the .ipa URL')
  if (!input.bundleId) throw new Error('manifest needs the bundle identifier')

  const softwarePackage: Dict = { kind: 'software-package', url: input.ipaUrl }
  if (input.chunkSha256s && input.chunkSha256s.length > 0) {
    const { chunkSize, chunkSha256s } = input
    if (chunkSize === undefined || !Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
      throw new Error('chunkSha256s needs a positive integer chunkSize')
    }
    if (!chunkSha256s.every((hash) => SHA256.test(hash))) throw new Error('chunkSha256s must be SHA-256 hex digests')
    softwarePackage['sha256-size'] = chunkSize
    softwarePackage['sha256s'] = chunkSha256s.map((hash) => hash.toLowerCase())
  } else if (input.sha256 !== undefined) {
    if (!SHA256.test(input.sha256)) throw new Error('sha256 must be a SHA-256 hex digest')
    softwarePackage['sha256'] = input.sha256.toLowerCase()
  }

  const assets: Dict[] = [softwarePackage]
  if (input.iconUrl) {
    assets.push({ kind: 'display-image', url: input.iconUrl }, { kind: 'full-size-image', url: input.iconUrl })
  }

  const metadata: Dict = { 'bundle-identifier': input.bundleId }
  if (input.bundleVersion !== null) metadata['bundle-version'] = xmlText(input.bundleVersion)
  metadata['kind'] = 'software'
  // An empty title leaves the prompt reading 'would like to install ""'; fall back to the bundle id.
  metadata['title'] = xmlText(input.title).trim() || input.bundleId
  if (input.subtitle) metadata['subtitle'] = xmlText(input.subtitle)

  const xml = build({ items: [{ assets, metadata }] })
  return xml.replace(/^\uFEFF?\s*/, '')
}

/** Drops what XML 1.0 cannot represent (control characters, lone surrogates) from Info.plist text. */
function xmlText(text: string): string {
  return text.replace(XML_ILLEGAL, '')
}

/** What a stored build contributes to its manifest (a BuildRecord has all of it). */
export interface ManifestBuild {
  name: string
  version: string | null
  build: string | null
  sha256: string
  chunkSize: number
  chunkSha256s: string[]
  info: { bundleId: string; profile: { teamName: string | null } | null }
}

/** The serialised manifest of a stored build, around the signed links the caller minted for it. */
export function manifestOfBuild(build: ManifestBuild, links: { ipaUrl: string; iconUrl: string | null }): Buffer {
  const manifest = buildManifest({
    ipaUrl: links.ipaUrl,
    iconUrl: links.iconUrl,
    // Always from the parsed .ipa: iOS (8+) refuses a manifest whose bundle id differs from the app's.
    bundleId: build.info.bundleId,
    bundleVersion: build.version ?? build.build ?? '1.0',
    title: build.name,
    subtitle: build.info.profile?.teamName ?? null,
    sha256: build.sha256,
    chunkSize: build.chunkSize,
    chunkSha256s: build.chunkSha256s,
  })
  return Buffer.from(manifest, 'utf8')
}
