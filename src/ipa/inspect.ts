import { createHash } from 'node:crypto'
import { AirstripError, isAirstripError } from '../errors.ts'
import { openArchive, type Archive } from './archive.ts'
import { LayoutScanner, findNestedBundles, iconCandidates } from './bundle-layout.ts'
import { readAssetsCarIcon } from './assets-car.ts'
import { readAppInfo } from './info-plist.ts'
import { LIMITS } from './limits.ts'
import { readSigningCertificate } from './macho.ts'
import { parsePlistDict } from './plist.ts'
import { normalizePng, readPngSize } from './png.ts'
import { evaluateProblems } from './problems.ts'
import { parseProvisioningProfile } from './profile.ts'
import { openFileSource, type RandomAccessSource } from './source.ts'
import type { ExtensionInfo, IconInfo, IpaInfo, Problem, ProvisioningProfile } from './types.ts'

export interface InspectOptions {
  /** The clock problems are evaluated against (expiry). Defaults to the current time. */
  now?: Date
  /**
   * SHA-256 of the file when the caller already knows it (an upload hashed while it was received),
   * or null to skip hashing. By default the file is hashed in one streaming pass.
   */
  sha256?: string | null
  /**
   * Only the Info.plist and the provisioning profile (no code signature, icon, extensions or
   * hash): what doctor falls back to when the executable is too large to fetch remotely.
   */
  metadataOnly?: boolean
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const

/** What `inspectIpa` returns: the facts, and the best icon converted to a standard PNG. */
export interface Inspection {
  info: IpaInfo
  iconPng: Buffer | null
}

/** Reads everything Airstrip needs from the .ipa at `path` without extracting it. */
export async function inspectIpa(path: string, options: InspectOptions = {}): Promise<Inspection> {
  const source = await openFileSource(path)
  try {
    return await inspectSource(source, options)
  } finally {
    await source.close()
  }
}

/**
 * Reads an .ipa through random access: the central directory and the few entries needed
 * (Info.plist, embedded.mobileprovision, icons, the executable's code signature, extensions),
 * hashing the whole file in parallel unless told not to.
 */
export async function inspectSource(source: RandomAccessSource, options: InspectOptions = {}): Promise<Inspection> {
  const now = options.now ?? new Date()
  const metadataOnly = options.metadataOnly === true
  const hashing = metadataOnly ? Promise.resolve(null) : options.sha256 === undefined ? hashSource(source) : Promise.resolve(options.sha256)
  // Attach the handler now: a metadata error must not leave an unhandled rejection behind.
  hashing.catch(() => {})
  const { info: partial, iconPng, notes } = await readBuild(source, metadataOnly)
  const sha256 = await hashing
  const build = { ...partial, sha256 }
  const problems = [...notes, ...evaluateProblems(build, now)].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])
  return { info: { ...build, problems }, iconPng }
}

async function readBuild(source: RandomAccessSource, metadataOnly: boolean): Promise<{ info: Omit<IpaInfo, 'problems' | 'sha256'>; iconPng: Buffer | null; notes: Problem[] }> {
  const scanner = new LayoutScanner()
  const archive = await openArchive(source, scanner.keep)
  const appPath = scanner.appPath((path) => archive.entries.has(`${path}Info.plist`))
  const plistEntry = archive.entries.get(`${appPath}Info.plist`)
  if (!plistEntry) throw new AirstripError('no-info-plist', `${appPath} has no Info.plist`)
  const infoDict = await readPlist(archive, `${appPath}Info.plist`, 'invalid-info-plist')
  const app = readAppInfo(infoDict, `${appPath}Info.plist`)
  const notes: Problem[] = []

  const executablePath = app.executable ? `${appPath}${app.executable}` : null
  const executable = executablePath ? archive.entries.get(executablePath) : undefined
  // Inflating the executable runs on libuv's thread pool: start it now, overlap it with the rest.
  const signing = executable && !metadataOnly ? readSigningCertificate(archive.openEntry(executable)) : Promise.resolve(null)
  signing.catch(() => {})
  const profile = await readProfile(archive, appPath)
  if (app.executable && !executable) {
    notes.push({ code: 'executable-missing', severity: 'error', message: `the executable "${app.executable}" named in Info.plist is not in the bundle.` })
  }

  const icon: IconResult = metadataOnly ? { found: false, reason: 'not read' } : await readIcon(archive, infoDict, appPath)
  if (!icon.found && !metadataOnly) notes.push({ code: 'icon-missing', severity: 'warning', message: icon.reason })
  const extensions = metadataOnly ? [] : await readExtensions(archive, appPath, notes)
  const signingCertificate = await signing

  return {
    info: {
      bundleId: app.bundleId,
      version: app.version,
      build: app.build,
      name: app.displayName ?? app.bundleName ?? app.executable ?? appPath.slice('Payload/'.length, -'.app/'.length),
      minimumOSVersion: app.minimumOSVersion,
      deviceFamily: app.deviceFamily,
      platform: app.platform,
      executable: app.executable,
      appPath,
      size: source.size,
      sdk: app.sdk,
      requiredDeviceCapabilities: app.requiredDeviceCapabilities,
      profile,
      signingCertificate,
      icon: icon.found ? icon.info : null,
      extensions,
    },
    iconPng: icon.found ? icon.png : null,
    notes,
  }
}

async function readPlist(archive: Archive, name: string, code: 'invalid-info-plist' | 'invalid-plist') {
  const entry = archive.entries.get(name)
  if (!entry) throw new AirstripError('no-info-plist', `${name} is missing`)
  const bytes = await archive.readEntry(entry, LIMITS.plistBytes)
  try {
    return parsePlistDict(bytes, name)
  } catch (error) {
    if (isAirstripError(error, 'invalid-plist') && code !== 'invalid-plist') throw new AirstripError(code, error.message, { cause: error })
    throw error
  }
}

async function readProfile(archive: Archive, bundlePath: string): Promise<ProvisioningProfile | null> {
  const entry = archive.entries.get(`${bundlePath}embedded.mobileprovision`)
  if (!entry) return null
  const bytes = await archive.readEntry(entry, LIMITS.plistBytes)
  try {
    return parseProvisioningProfile(bytes)
  } catch (error) {
    // A failed remote read (doctor's ranged source) is not a bad profile: keep its own code.
    if (isAirstripError(error) && !REMOTE_READ_CODES.has(error.code)) {
      throw new AirstripError('invalid-profile', `${entry.name}: ${error.message}`, { cause: error })
    }
    throw error
  }
}

const REMOTE_READ_CODES: ReadonlySet<string> = new Set(['remote-read-failed', 'remote-read-limit'])

type IconResult = { found: true; info: IconInfo; png: Buffer } | { found: false; reason: string }

/** The largest declared icon, converted from CgBI when needed. */
async function readIcon(archive: Archive, info: Record<string, unknown>, appPath: string): Promise<IconResult> {
  const candidates = iconCandidates(info as never, archive.entries.keys(), appPath)
  let best: { name: string; bytes: Buffer; pixels: number } | null = null
  for (const name of candidates) {
    const entry = archive.entries.get(name)
    if (!entry) continue
    try {
      const bytes = await archive.readEntry(entry, LIMITS.iconBytes)
      const { width, height } = readPngSize(bytes)
      if (!best || width * height > best.pixels) best = { name, bytes, pixels: width * height }
    } catch (error) {
      if (!isAirstripError(error)) throw error
    }
  }
  if (best) {
    try {
      const png = normalizePng(best.bytes)
      return { found: true, png: png.png, info: { width: png.width, height: png.height, wasCgbi: png.wasCgbi, sourcePath: best.name } }
    } catch (error) {
      if (!isAirstripError(error)) throw error
      return { found: false, reason: `the icon ${best.name} is unreadable: ${error.message}` }
    }
  }
  const assetsCar = archive.entries.get(`${appPath}Assets.car`)
  if (assetsCar) {
    if (assetsCar.uncompressedSize > LIMITS.assetsCarBytes) {
      return { found: false, reason: `the app icon is only in Assets.car, which is too large (${assetsCar.uncompressedSize} bytes) to read.` }
    }
    const iconName = typeof info['CFBundleIconName'] === 'string' ? info['CFBundleIconName'] : 'AppIcon'
    const icon = readAssetsCarIcon(await archive.readEntry(assetsCar, LIMITS.assetsCarBytes), iconName)
    if (icon) return { found: true, png: icon.png, info: { width: icon.width, height: icon.height, wasCgbi: false, sourcePath: assetsCar.name } }
    return { found: false, reason: 'the app icon is only in the compiled asset catalog (Assets.car), in a form Airstrip cannot read.' }
  }
  return { found: false, reason: candidates.length > 0 ? 'the declared icon files are unreadable.' : 'the app declares no icon and has no icon file.' }
}

async function readExtensions(archive: Archive, appPath: string, notes: Problem[]): Promise<ExtensionInfo[]> {
  const extensions: ExtensionInfo[] = []
  for (const nested of findNestedBundles(archive.entries.keys(), appPath)) {
    try {
      const app = readAppInfo(await readPlist(archive, `${nested.path}Info.plist`, 'invalid-plist'), `${nested.path}Info.plist`)
      const profile = await readProfile(archive, nested.path)
      extensions.push({
        type: nested.type,
        path: nested.path,
        bundleId: app.bundleId,
        name: app.displayName ?? app.bundleName,
        version: app.version,
        build: app.build,
        profile: profile && { kind: profile.kind, applicationIdentifier: profile.applicationIdentifier, expiresAt: profile.expiresAt },
      })
    } catch (error) {
      if (!isAirstripError(error) || ['archive-corrupt', 'entry-too-large'].includes(error.code)) throw error
      notes.push({ code: 'extension-unreadable', severity: 'warning', message: `${nested.path}: ${error.message}` })
    }
  }
  return extensions
}

/**
 * SHA-256 of the whole source in one pass. Two reused 1 MiB buffers (read the next while hashing
 * the last) keep memory flat whatever the size; a fresh buffer per chunk measured ~60 MiB more RSS.
 */
export async function hashSource(source: RandomAccessSource): Promise<string> {
  const hash = createHash('sha256')
  const buffers = [Buffer.allocUnsafe(HASH_CHUNK), Buffer.allocUnsafe(HASH_CHUNK)] as const
  let position = 0
  let turn = 0
  let pending = source.size > 0 ? source.readInto(buffers[0], 0) : Promise.resolve(0)
  while (position < source.size) {
    const read = await pending
    if (read === 0) throw new AirstripError('archive-corrupt', `unexpected end of file at byte ${position}`)
    const current = buffers[turn]!
    position += read
    turn = 1 - turn
    pending = position < source.size ? source.readInto(buffers[turn]!, position) : Promise.resolve(0)
    hash.update(read === current.length ? current : current.subarray(0, read))
  }
  return hash.digest('hex')
}

const HASH_CHUNK = 1024 * 1024
