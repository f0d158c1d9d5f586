import { AirstripError } from '../errors.ts'
import { DEVICE_FAMILIES, type DeviceFamily, type PlistDict, type PlistValue } from './types.ts'

/** The Info.plist facts Airstrip uses, validated. */
export interface AppInfo {
  bundleId: string
  version: string | null
  build: string | null
  displayName: string | null
  bundleName: string | null
  executable: string | null
  minimumOSVersion: string | null
  deviceFamily: DeviceFamily[]
  platform: 'iphoneos' | 'iphonesimulator'
  sdk: string | null
  requiredDeviceCapabilities: string[]
}

/**
 * Validates an Info.plist dict: CFBundleIdentifier is required; every other key Airstrip reads must
 * have the type Apple documents when present. `invalid-info-plist` names the offending key.
 */
export function readAppInfo(info: PlistDict, where: string): AppInfo {
  const optionalString = (key: string): string | null => {
    const value = info[key]
    if (value === undefined) return null
    // Some build tools write versions as numbers; Apple's own tools accept them, so do we.
    if (typeof value === 'number' && (key === 'CFBundleVersion' || key === 'CFBundleShortVersionString' || key === 'MinimumOSVersion')) {
      return String(value)
    }
    if (typeof value !== 'string') throw new AirstripError('invalid-info-plist', `${where}: ${key} must be a string, not ${describe(value)}`)
    return value.trim() === '' ? null : value
  }
  const bundleId = optionalString('CFBundleIdentifier')
  if (!bundleId) throw new AirstripError('invalid-info-plist', `${where}: CFBundleIdentifier is missing`)
  if (!/^[A-Za-z0-9.-]+$/.test(bundleId)) {
    throw new AirstripError('invalid-info-plist', `${where}: CFBundleIdentifier "${bundleId.slice(0, 100)}" has characters Apple does not allow`)
  }
  const platformName = optionalString('DTPlatformName')
  const supported = info['CFBundleSupportedPlatforms']
  const simulator =
    platformName === 'iphonesimulator' || (Array.isArray(supported) && supported.some((p) => typeof p === 'string' && /simulator/i.test(p)))
  return {
    bundleId,
    version: optionalString('CFBundleShortVersionString'),
    build: optionalString('CFBundleVersion'),
    displayName: optionalString('CFBundleDisplayName'),
    bundleName: optionalString('CFBundleName'),
    executable: optionalString('CFBundleExecutable'),
    minimumOSVersion: optionalString('MinimumOSVersion') ?? optionalString('LSMinimumSystemVersion'),
    deviceFamily: readDeviceFamily(info['UIDeviceFamily'], where),
    platform: simulator ? 'iphonesimulator' : 'iphoneos',
    sdk: optionalString('DTSDKName'),
    requiredDeviceCapabilities: readCapabilities(info['UIRequiredDeviceCapabilities']),
  }
}

/** UIDeviceFamily: an array of integers (sometimes numeric strings, or a lone integer). Absent means iPhone. */
function readDeviceFamily(value: PlistValue | undefined, where: string): DeviceFamily[] {
  if (value === undefined) return ['iphone']
  const items = Array.isArray(value) ? value : [value]
  const families: DeviceFamily[] = []
  for (const item of items) {
    const number = typeof item === 'number' ? item : typeof item === 'string' && /^\d+$/.test(item) ? Number(item) : NaN
    if (Number.isNaN(number)) throw new AirstripError('invalid-info-plist', `${where}: UIDeviceFamily holds ${describe(item)}, not a number`)
    const family = DEVICE_FAMILIES[number as keyof typeof DEVICE_FAMILIES]
    if (family && !families.includes(family)) families.push(family)
  }
  return families
}

/** UIRequiredDeviceCapabilities is an array of names or a dict of name → required. */
function readCapabilities(value: PlistValue | undefined): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  if (value && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.entries(value).filter(([, required]) => required === true).map(([name]) => name)
  }
  return []
}

function describe(value: PlistValue | undefined): string {
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a date'
  if (value instanceof Uint8Array) return 'data'
  if (value === null) return 'null'
  return typeof value === 'object' ? 'a dictionary' : `a ${typeof value}`
}
