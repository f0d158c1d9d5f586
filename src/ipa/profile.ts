/**
 * Reads provisioning profiles (.mobileprovision, macOS .provisionprofile): the CMS envelope Apple
 * signs them in, or the bare plists some tools and the Developer Portal API hand out.
 */
import { AirstripError, isAirstripError } from '../errors.ts'
import { summarizeCertificate } from './certificate.ts'
import { parseSignedData } from './cms.ts'
import { LIMITS } from './limits.ts'
import { isPlistDict, parsePlistDict } from './plist.ts'
import type { CertificateSummary, PlistDict, PlistValue, ProfileEncoding, ProfileKind, ProvisioningProfile } from './types.ts'

/** Subjects of certificates Apple issues for development signing (iOS and macOS, old and new names). */
const DEVELOPMENT_CERTIFICATE = /^(Apple Development|iPhone Developer|Mac Developer):/

/**
 * Parses a provisioning profile: a CMS SignedData (DER or BER) around a plist, or, as a fallback,
 * a bare XML or binary plist. Anything else, or content that is not a plist dictionary, gives
 * `invalid-profile` with the reason. The signature is not verified here.
 */
export function parseProvisioningProfile(bytes: Uint8Array): ProvisioningProfile {
  if (bytes.length === 0) throw new AirstripError('invalid-profile', 'provisioning profile is empty')
  if (bytes.length > LIMITS.plistBytes) {
    throw new AirstripError('entry-too-large', `provisioning profile is ${bytes.length} bytes, more than the ${LIMITS.plistBytes} allowed`)
  }
  const bare = bareEncoding(bytes)
  if (bare !== null) return readFields(parseContent(bytes, 'provisioning profile'), bare, [])

  const envelope = parseSignedData(bytes)
  if (envelope === null) {
    const head = Buffer.from(bytes.subarray(0, 4)).toString('hex')
    throw new AirstripError('invalid-profile', `provisioning profile is neither a CMS SignedData envelope nor a property list (starts with 0x${head})`)
  }
  if (envelope.content === null || envelope.content.length === 0) {
    throw new AirstripError('invalid-profile', 'provisioning profile CMS envelope carries no content (detached signature)')
  }
  const signers = envelope.certificates.flatMap((der) => summarizeCertificate(der)?.subject ?? [])
  return readFields(parseContent(envelope.content, 'provisioning profile content'), 'cms', signers)
}

/**
 * Bare plists are recognised only by how they start (after an optional BOM and whitespace):
 * a profile with junk before "<?xml" is refused rather than scanned for a plist-looking block.
 */
function bareEncoding(bytes: Uint8Array): ProfileEncoding | null {
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  while (start < bytes.length && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[start]!)) start++
  const head = Buffer.from(bytes.subarray(start, start + 9)).toString('latin1')
  if (head.startsWith('<?xml') || head.startsWith('<!DOCTYPE') || head.startsWith('<plist')) return 'xml-plist'
  if (head.startsWith('bplist')) return 'binary-plist'
  return null
}

function parseContent(bytes: Uint8Array, what: string): PlistDict {
  try {
    return parsePlistDict(bytes, what)
  } catch (error) {
    if (isAirstripError(error, 'invalid-plist')) throw new AirstripError('invalid-profile', error.message, { cause: error })
    throw error
  }
}

function readFields(plist: PlistDict, encoding: ProfileEncoding, signers: string[]): ProvisioningProfile {
  const entitlements = isPlistDict(plist.Entitlements) ? plist.Entitlements : {}
  const provisionedDevices = stringArray(plist.ProvisionedDevices)
  const provisionsAllDevices = plist.ProvisionsAllDevices === true
  const certificates = developerCertificates(plist.DeveloperCertificates)
  return {
    kind: profileKind(entitlements, provisionedDevices, provisionsAllDevices, certificates),
    encoding,
    name: string(plist.Name),
    uuid: string(plist.UUID),
    teamId: stringArray(plist.TeamIdentifier)[0] ?? null,
    teamName: string(plist.TeamName),
    appIdName: string(plist.AppIDName),
    applicationIdentifier: string(entitlements['application-identifier']) ?? string(entitlements['com.apple.application-identifier']),
    createdAt: isoDate(plist.CreationDate),
    expiresAt: isoDate(plist.ExpirationDate),
    provisionedDevices,
    provisionsAllDevices,
    platforms: stringArray(plist.Platform),
    entitlements: toJson(entitlements) as Record<string, unknown>,
    certificates,
    signers,
  }
}

/**
 * The distribution kind, from the four signals in order of strength. Apple writes get-task-allow
 * true only in development profiles (iOS: `get-task-allow`, macOS apps:
 * `com.apple.security.get-task-allow`). Real macOS development profiles carry neither key (see
 * test/fixtures/mobileprovision/appinfo-macos_development.provisionprofile), so when the key is
 * absent altogether, provisioned devices plus a development certificate ("Apple Development:",
 * "Mac Developer:", "iPhone Developer:") also mean development; macOS has no ad-hoc kind anyway.
 * iOS ad-hoc profiles always say get-task-allow false, so they are unaffected.
 */
function profileKind(entitlements: PlistDict, devices: string[], allDevices: boolean, certificates: CertificateSummary[]): ProfileKind {
  if (allDevices) return 'enterprise'
  const getTaskAllow = entitlements['get-task-allow'] ?? entitlements['com.apple.security.get-task-allow']
  if (getTaskAllow === true) return 'development'
  if (devices.length > 0) {
    const developmentCertificate = certificates.some((cert) => DEVELOPMENT_CERTIFICATE.test(cert.subject))
    return getTaskAllow === undefined && developmentCertificate ? 'development' : 'ad-hoc'
  }
  return 'app-store'
}

/** DeveloperCertificates entries that really are certificates; placeholders such as "REDACTED" are skipped. */
function developerCertificates(value: PlistValue | undefined): CertificateSummary[] {
  if (!Array.isArray(value)) return []
  return value.flatMap((item) => (item instanceof Uint8Array ? (summarizeCertificate(item) ?? []) : []))
}

function string(value: PlistValue | undefined): string | null {
  return typeof value === 'string' ? value : null
}

function stringArray(value: PlistValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []
}

function isoDate(value: PlistValue | undefined): string | null {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : null
}

/** A plist value as plain JSON: dates become ISO strings, data base64, big integers decimal strings. */
function toJson(value: PlistValue): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(toJson)
  if (isPlistDict(value)) {
    const result: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) result[key] = toJson(item)
    return result
  }
  return value
}
