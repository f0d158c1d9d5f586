/**
 * Device names: what a device calls itself ("Jane’s iPhone") is free text typed by its owner.
 * Airstrip keeps it (capped) for display and cleans it whenever it leaves for Apple.
 */

/** The longest device name Apple's developer portal and App Store Connect accept. */
export const APPLE_DEVICE_NAME_MAX = 50
/** The longest name Airstrip stores (display only; Apple-bound copies are cut to 50). */
export const STORED_DEVICE_NAME_MAX = 200

// Controls (tabs and newlines would break the tab-separated file), invisible format characters,
// and pictographs: the portal refuses emoji in device names.
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu
const PICTOGRAPH = /[\p{Extended_Pictographic}\u{1F1E6}-\u{1F1FF}\u{FE0E}\u{FE0F}\u{20E3}]+/gu

/** A name as stored: NFC, controls become spaces, runs of spaces collapse, trimmed and capped. Empty → null. */
export function tidyDeviceName(name: string | null | undefined): string | null {
  if (typeof name !== 'string') return null
  const tidy = cutGraphemes(name.normalize('NFC').replace(CONTROL, ' ').replace(/\s+/gu, ' ').trim(), STORED_DEVICE_NAME_MAX)
  return tidy === '' ? null : tidy
}

/**
 * The name to hand Apple (bulk-upload file, App Store Connect): tidied, emoji removed, at most 50
 * characters cut on a character boundary (never inside an accent or a surrogate pair), and never
 * empty: `fallback` (e.g. the model name and the end of the UDID) takes its place.
 *
 * @example appleDeviceName('Jane’s iPhone 📱\t(work)', 'iPhone') // 'Jane’s iPhone (work)'
 */
export function appleDeviceName(name: string | null | undefined, fallback: string): string {
  const cleaned = (tidyDeviceName(name?.replace(PICTOGRAPH, ' ')) ?? '').replace(/\s+/gu, ' ')
  const cut = cutGraphemes(cleaned, APPLE_DEVICE_NAME_MAX).trim()
  if (cut !== '') return cut
  return cutGraphemes((tidyDeviceName(fallback.replace(PICTOGRAPH, ' ')) ?? 'Device').trim(), APPLE_DEVICE_NAME_MAX).trim() || 'Device'
}

/**
 * Cuts to at most `max` UTF-16 code units without splitting a grapheme. Apple counts characters;
 * code units are the stricter measure, so a name that fits here fits there.
 */
function cutGraphemes(text: string, max: number): string {
  if (text.length <= max) return text
  let result = ''
  for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) {
    if (result.length + segment.length > max) break
    result += segment
  }
  return result
}
