import type { DeviceFamily, ProfileKind } from '../ipa/types.ts'

/** "1.2.3 (45)", the way iOS Settings and TestFlight write CFBundleShortVersionString (CFBundleVersion). */
export function versionLabel(version: string | null, build: string | null): string {
  if (version && build && build !== version) return `${version} (${build})`
  return version || build || 'unknown version'
}

const UNITS = ['KB', 'MB', 'GB', 'TB'] as const

/** "12.3 MB": decimal units, as iOS shows app sizes in Settings › General › iPhone Storage. */
export function sizeLabel(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1000) return `${Math.max(0, Math.round(bytes || 0))} bytes`
  let value = bytes / 1000
  let index = 0
  while (value >= 999.5 && index < UNITS.length - 1) {
    value /= 1000
    index++
  }
  const unit = UNITS[index] as string
  const rounded = value >= 100 ? Math.round(value).toString() : value.toFixed(1).replace(/\.0$/, '')
  return `${rounded} ${unit}`
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const

/** "26 Nov 2026, 14:05 UTC": locale-free so the server renders the same text everywhere. */
export function dateLabel(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const two = (n: number): string => n.toString().padStart(2, '0')
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${two(date.getUTCHours())}:${two(date.getUTCMinutes())} UTC`
}

/** "just now", "5 minutes ago", "3 days ago", "in 2 days" relative to an injected clock. */
export function relativeTime(iso: string, now: Date): string {
  const ms = now.getTime() - Date.parse(iso)
  if (Number.isNaN(ms)) return ''
  const ahead = ms < 0
  const seconds = Math.abs(ms) / 1000
  const steps: Array<[number, string]> = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']]
  let value = seconds
  for (const [size, unit] of steps) {
    if (value < size) {
      const n = Math.floor(value)
      if (unit === 'second') return 'just now'
      const text = `${n} ${unit}${n === 1 ? '' : 's'}`
      return ahead ? `in ${text}` : `${text} ago`
    }
    value /= size
  }
  return ''
}

/**
 * Compares dotted versions numerically, missing parts counting as 0: "14" == "14.0",
 * "9.3" < "10", "17.4.1" > "17.4". Non-numeric parts count as 0.
 */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map((part) => Number.parseInt(part, 10) || 0)
  const right = b.split('.').map((part) => Number.parseInt(part, 10) || 0)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0) return Math.sign(difference)
  }
  return 0
}

const FAMILY_LABELS: Record<DeviceFamily, string> = {
  iphone: 'iPhone',
  ipad: 'iPad',
  tv: 'Apple TV',
  watch: 'Apple Watch',
  mac: 'Mac',
  vision: 'Apple Vision Pro',
}

/** Human names of UIDeviceFamily values, in the order the app declares them. */
export function deviceFamilyLabels(families: readonly DeviceFamily[]): string[] {
  return families.map((family) => FAMILY_LABELS[family] ?? family)
}

const SIGNING_LABELS: Record<ProfileKind, string> = {
  'ad-hoc': 'Ad Hoc',
  enterprise: 'Enterprise (In-House)',
  development: 'Development',
  'app-store': 'App Store',
}

/** The name Xcode's export dialog uses for each profile kind; unsigned builds get their own label. */
export function signingLabel(kind: ProfileKind | null): string {
  return kind ? SIGNING_LABELS[kind] : 'Not signed for devices'
}
