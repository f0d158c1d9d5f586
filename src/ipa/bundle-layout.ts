import { AirstripError } from '../errors.ts'
import { LIMITS } from './limits.ts'
import type { PlistDict, PlistValue } from './types.ts'

/**
 * Where things live inside an .ipa, decided from entry names alone (pure: no I/O). Names from the
 * archive are only ever compared as strings here, never used as file-system paths.
 */

const APP_ROOT = /^Payload\/([^/]+\.app)\//
const BUNDLE_FILE = [
  /^Payload\/[^/]+\.app\/[^/]+$/, // the app's own files: Info.plist, embedded.mobileprovision, icons, executable
  /^Payload\/[^/]+\.app\/(?:PlugIns|Extensions)\/[^/]+\.appex\/[^/]+$/,
  /^Payload\/[^/]+\.app\/Watch\/[^/]+\.app\/[^/]+$/,
  /^Payload\/[^/]+\.app\/Watch\/[^/]+\.app\/PlugIns\/[^/]+\.appex\/[^/]+$/,
]
/** Files below the bundle root matter only inside nested bundles (see BUNDLE_FILE); sticky: tested at an offset. */
const NESTED_PREFIX = /(?:PlugIns|Extensions|Watch)\//y

/** Watches the central directory go by: keeps what `inspect` needs and notes what explains a refusal. */
export class LayoutScanner {
  readonly appFolders = new Set<string>()
  nestedPayload: string | null = null
  rootApp: string | null = null

  /** The app folder of the previous name: consecutive names nearly always share it. */
  #lastAppFolder = ''

  /**
   * The `keep` predicate for `openArchive`. It sees every name of the archive (tens of thousands),
   * so the common case, a name inside the app folder seen last, is decided without a regex.
   */
  readonly keep = (name: string): boolean => {
    const last = this.#lastAppFolder
    if (last !== '' && name.startsWith(last)) {
      const slash = name.indexOf('/', last.length)
      // A file at the bundle root ("[^/]+$"), else only the nested bundles' files may matter.
      if (slash === -1) return name.length > last.length
      NESTED_PREFIX.lastIndex = last.length
      return NESTED_PREFIX.test(name) && BUNDLE_FILE.some((pattern) => pattern.test(name))
    }
    const app = APP_ROOT.exec(name)
    if (app) {
      this.#lastAppFolder = `Payload/${app[1]}/`
      this.appFolders.add(this.#lastAppFolder)
      return BUNDLE_FILE.some((pattern) => pattern.test(name))
    }
    if (!name.startsWith('__MACOSX/')) {
      this.nestedPayload ??= /^(.+?\/)Payload\/[^/]+\.app\//.exec(name)?.[1] ?? null
      this.rootApp ??= /^([^/]+\.app)\//.exec(name)?.[1] ?? null
    }
    return false
  }

  /** The one app bundle of the archive ("Payload/Name.app/"), or `no-app-bundle` saying why not. */
  appPath(hasInfoPlist: (appPath: string) => boolean): string {
    const folders = [...this.appFolders].sort()
    const withPlist = folders.find(hasInfoPlist)
    if (withPlist) return withPlist
    if (folders[0]) return folders[0] // exists, but without Info.plist: the caller reports no-info-plist
    if (this.nestedPayload) {
      throw new AirstripError('no-app-bundle', `Payload/ is nested under "${this.nestedPayload}" instead of at the archive root; iOS cannot install it`)
    }
    if (this.rootApp) {
      throw new AirstripError('no-app-bundle', `"${this.rootApp}" sits at the archive root without Payload/ (a zipped .app, e.g. a Simulator build, not an .ipa)`)
    }
    throw new AirstripError('no-app-bundle')
  }
}

export interface NestedBundlePath {
  type: 'app-extension' | 'watch-app'
  path: string
}

/** App extensions and watch apps inside the app, found by their Info.plist entries. */
export function findNestedBundles(names: Iterable<string>, appPath: string): NestedBundlePath[] {
  const found: NestedBundlePath[] = []
  for (const name of names) {
    if (!name.startsWith(appPath) || !name.endsWith('/Info.plist')) continue
    const inner = name.slice(appPath.length, -'Info.plist'.length)
    if (/^(?:PlugIns|Extensions)\/[^/]+\.appex\/$/.test(inner) || /^Watch\/[^/]+\.app\/PlugIns\/[^/]+\.appex\/$/.test(inner)) {
      found.push({ type: 'app-extension', path: appPath + inner })
    } else if (/^Watch\/[^/]+\.app\/$/.test(inner)) {
      found.push({ type: 'watch-app', path: appPath + inner })
    }
  }
  return found.sort((a, b) => a.path.localeCompare(b.path)).slice(0, LIMITS.nestedBundles)
}

/**
 * Entry names that may hold the app icon, from every place Apple has declared icons over the years:
 * CFBundleIcons(~ipad).CFBundlePrimaryIcon.CFBundleIconFiles, CFBundleIconFiles, CFBundleIconFile.
 * A declared "AppIcon60x60" is stored as AppIcon60x60@2x.png, AppIcon60x60@3x~ipad.png, … at the bundle root.
 */
export function iconCandidates(info: PlistDict, names: Iterable<string>, appPath: string): string[] {
  const declared = new Set<string>()
  const addAll = (value: PlistValue | undefined): void => {
    if (typeof value === 'string') declared.add(value.replace(/\.png$/i, ''))
    else if (Array.isArray(value)) value.forEach(addAll)
  }
  for (const key of ['CFBundleIcons', 'CFBundleIcons~ipad']) {
    const icons = info[key]
    if (icons && typeof icons === 'object' && !Array.isArray(icons) && !(icons instanceof Date) && !(icons instanceof Uint8Array)) {
      const primary = (icons as PlistDict)['CFBundlePrimaryIcon']
      if (primary && typeof primary === 'object' && !Array.isArray(primary)) addAll((primary as PlistDict)['CFBundleIconFiles'])
    }
  }
  addAll(info['CFBundleIconFiles'])
  addAll(info['CFBundleIconFile'])

  const rootPngs: string[] = []
  for (const name of names) {
    if (name.startsWith(appPath) && /^[^/]+\.png$/i.test(name.slice(appPath.length))) rootPngs.push(name)
  }
  const matches = (name: string, base: string): boolean => {
    const file = name.slice(appPath.length)
    if (!file.startsWith(base)) return false
    return /^(?:@\d(?:\.\d)?x)?(?:~(?:ipad|iphone))?\.png$/i.test(file.slice(base.length))
  }
  let candidates = rootPngs.filter((name) => [...declared].some((base) => matches(name, base)))
  // Nothing declared (old or hand-made bundles): fall back to the names Xcode has always used.
  if (candidates.length === 0 && declared.size === 0) {
    candidates = rootPngs.filter((name) => /^(?:AppIcon|Icon)[^/]*\.png$/i.test(name.slice(appPath.length)))
  }
  return candidates.sort()
}
