/**
 * Device identifiers (UDIDs) as iOS reports them in the Profile Service response and Apple lists
 * them in provisioning profiles' ProvisionedDevices:
 * - 40 hexadecimal characters: every device before the A12 chip (iPhone XS);
 * - `XXXXXXXX-XXXXXXXXXXXXXXXX` (8 + 16 hex, 25 characters): A12 and later.
 * Apple writes the first form in lower case and the second in upper case; comparisons ignore case.
 */
const LEGACY = /^[0-9a-f]{40}$/i
const MODERN = /^[0-9a-f]{8}-[0-9a-f]{16}$/i

/**
 * The UDID in Apple's own spelling (legacy lower case, modern upper case), or null when `value`
 * is neither form. UDIDs made only of `f`s before their last digits come from deprecated APIs
 * (and from tools that fake them): refused as well, since no profile can ever list them.
 */
export function normalizeUdid(value: string): string | null {
  const trimmed = value.trim()
  if (LEGACY.test(trimmed)) return isFake(trimmed) ? null : trimmed.toLowerCase()
  if (MODERN.test(trimmed)) return isFake(trimmed) ? null : trimmed.toUpperCase()
  return null
}

/** The key two UDIDs are compared by (ProvisionedDevices may use either case). */
export function udidKey(udid: string): string {
  return udid.trim().toUpperCase()
}

/** True when `profileDevices` (a profile's ProvisionedDevices) lists `udid`. */
export function profileListsUdid(profileDevices: readonly string[], udid: string): boolean {
  const key = udidKey(udid)
  return profileDevices.some((listed) => udidKey(listed) === key)
}

function isFake(udid: string): boolean {
  return /^f{8}/i.test(udid.replace('-', ''))
}
