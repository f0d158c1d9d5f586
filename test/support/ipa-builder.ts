import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import * as plist from 'plist'
import yazl from 'yazl'

/** One file to put in a synthetic archive. `stream` entries need their size up front. */
export type ZipEntrySpec =
  | { name: string; data: Buffer | string; compress?: boolean }
  | { name: string; stream: () => Readable; size: number; compress?: boolean }

/** Writes a ZIP with yazl (the writer made by yauzl's author): real local headers, CRCs and ZIP64 when asked. */
export async function writeZip(path: string, entries: Iterable<ZipEntrySpec>, options: { zip64?: boolean } = {}): Promise<void> {
  const zip = new yazl.ZipFile()
  const mtime = new Date('2026-01-01T00:00:00Z')
  const done = pipeline(zip.outputStream, createWriteStream(path))
  for (const entry of entries) {
    const common = { mtime, compress: entry.compress ?? true, forceZip64Format: options.zip64 ?? false }
    if ('stream' in entry) zip.addReadStream(entry.stream(), entry.name, { ...common, size: entry.size })
    else zip.addBuffer(typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data, entry.name, common)
  }
  zip.end()
  await done
}

export interface SyntheticIpaOptions {
  /** Folder name of the app without ".app" (default "Example"). */
  appName?: string
  /** Keys merged over a realistic default Info.plist; `undefined` values remove the default key. */
  info?: Record<string, unknown>
  /** A complete Info.plist to use instead (raw bytes, e.g. a binary plist or hostile XML). */
  infoPlistBytes?: Buffer
  profile?: Buffer | null
  executable?: Buffer | null
  /** Extra files at the bundle root, e.g. icons: { name: 'AppIcon60x60@2x.png', data }. */
  files?: { name: string; data: Buffer }[]
  /** Nested bundles: path under the app ("PlugIns/Widget.appex/") with Info.plist keys and a profile. */
  nested?: { path: string; info: Record<string, unknown>; profile?: Buffer | null }[]
  /** Filler entries written before the interesting ones, so those sit at the end of the central directory. */
  fillerEntries?: number
  /** Raw entries added verbatim (after the app), for hostile archives. */
  extraEntries?: ZipEntrySpec[]
  zip64?: boolean
}

export const DEFAULT_INFO = {
  CFBundleIdentifier: 'com.example.app',
  CFBundleShortVersionString: '1.2.3',
  CFBundleVersion: '45',
  CFBundleName: 'Example',
  CFBundleDisplayName: 'Example App',
  CFBundleExecutable: 'Example',
  MinimumOSVersion: '15.0',
  UIDeviceFamily: [1, 2],
  DTPlatformName: 'iphoneos',
  DTSDKName: 'iphoneos18.0',
  CFBundleSupportedPlatforms: ['iPhoneOS'],
  CFBundleIcons: { CFBundlePrimaryIcon: { CFBundleIconFiles: ['AppIcon60x60'] } },
} as const

/** The entries of a realistic, configurable .ipa. */
export function ipaEntries(options: SyntheticIpaOptions = {}): ZipEntrySpec[] {
  const appName = options.appName ?? 'Example'
  const app = `Payload/${appName}.app/`
  const entries: ZipEntrySpec[] = []
  for (let i = 0; i < (options.fillerEntries ?? 0); i++) {
    entries.push({ name: `${app}Frameworks/Filler.framework/Resources/file-${String(i).padStart(6, '0')}.dat`, data: `filler ${i}\n`, compress: false })
  }
  const info = mergeInfo(options.info)
  entries.push({ name: `${app}Info.plist`, data: options.infoPlistBytes ?? plist.build(info as plist.PlistValue) })
  if (options.executable !== null) {
    const executableName = typeof info['CFBundleExecutable'] === 'string' ? info['CFBundleExecutable'] : appName
    entries.push({ name: `${app}${executableName}`, data: options.executable ?? Buffer.from('not really a Mach-O\n') })
  }
  if (options.profile) entries.push({ name: `${app}embedded.mobileprovision`, data: options.profile, compress: false })
  for (const file of options.files ?? []) entries.push({ name: `${app}${file.name}`, data: file.data, compress: false })
  for (const nested of options.nested ?? []) {
    entries.push({ name: `${app}${nested.path}Info.plist`, data: plist.build(nested.info as plist.PlistValue) })
    if (nested.profile) entries.push({ name: `${app}${nested.path}embedded.mobileprovision`, data: nested.profile })
  }
  entries.push(...(options.extraEntries ?? []))
  return entries
}

/** Writes a synthetic .ipa to `path`. */
export async function buildIpa(path: string, options: SyntheticIpaOptions = {}): Promise<void> {
  await writeZip(path, ipaEntries(options), { zip64: options.zip64 ?? false })
}

function mergeInfo(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const info: Record<string, unknown> = { ...DEFAULT_INFO }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete info[key]
    else info[key] = value
  }
  return info
}
