/**
 * Marketing names for the model identifiers iOS reports as PRODUCT ("iPhone15,2" → "iPhone 14
 * Pro"). Hand-kept because no small, maintained npm package carries this table; an identifier not
 * listed here (a model newer than this file) still gets its family ("iPhone") and stays usable.
 */
const MODELS: Readonly<Record<string, string>> = table({
  'iPhone 6s': ['iPhone8,1'], 'iPhone 6s Plus': ['iPhone8,2'], 'iPhone SE': ['iPhone8,4'],
  'iPhone 7': ['iPhone9,1', 'iPhone9,3'], 'iPhone 7 Plus': ['iPhone9,2', 'iPhone9,4'],
  'iPhone 8': ['iPhone10,1', 'iPhone10,4'], 'iPhone 8 Plus': ['iPhone10,2', 'iPhone10,5'], 'iPhone X': ['iPhone10,3', 'iPhone10,6'],
  'iPhone XS': ['iPhone11,2'], 'iPhone XS Max': ['iPhone11,4', 'iPhone11,6'], 'iPhone XR': ['iPhone11,8'],
  'iPhone 11': ['iPhone12,1'], 'iPhone 11 Pro': ['iPhone12,3'], 'iPhone 11 Pro Max': ['iPhone12,5'], 'iPhone SE (2nd generation)': ['iPhone12,8'],
  'iPhone 12 mini': ['iPhone13,1'], 'iPhone 12': ['iPhone13,2'], 'iPhone 12 Pro': ['iPhone13,3'], 'iPhone 12 Pro Max': ['iPhone13,4'],
  'iPhone 13 Pro': ['iPhone14,2'], 'iPhone 13 Pro Max': ['iPhone14,3'], 'iPhone 13 mini': ['iPhone14,4'], 'iPhone 13': ['iPhone14,5'],
  'iPhone SE (3rd generation)': ['iPhone14,6'], 'iPhone 14': ['iPhone14,7'], 'iPhone 14 Plus': ['iPhone14,8'],
  'iPhone 14 Pro': ['iPhone15,2'], 'iPhone 14 Pro Max': ['iPhone15,3'], 'iPhone 15': ['iPhone15,4'], 'iPhone 15 Plus': ['iPhone15,5'],
  'iPhone 15 Pro': ['iPhone16,1'], 'iPhone 15 Pro Max': ['iPhone16,2'],
  'iPhone 16 Pro': ['iPhone17,1'], 'iPhone 16 Pro Max': ['iPhone17,2'], 'iPhone 16': ['iPhone17,3'], 'iPhone 16 Plus': ['iPhone17,4'], 'iPhone 16e': ['iPhone17,5'],
  'iPod touch (6th generation)': ['iPod7,1'], 'iPod touch (7th generation)': ['iPod9,1'],
  'iPad (5th generation)': ['iPad6,11', 'iPad6,12'], 'iPad (6th generation)': ['iPad7,5', 'iPad7,6'], 'iPad (7th generation)': ['iPad7,11', 'iPad7,12'],
  'iPad (8th generation)': ['iPad11,6', 'iPad11,7'], 'iPad (9th generation)': ['iPad12,1', 'iPad12,2'], 'iPad (10th generation)': ['iPad13,18', 'iPad13,19'],
  'iPad (A16)': ['iPad15,7', 'iPad15,8'],
  'iPad Air 2': ['iPad5,3', 'iPad5,4'], 'iPad Air (3rd generation)': ['iPad11,3', 'iPad11,4'], 'iPad Air (4th generation)': ['iPad13,1', 'iPad13,2'],
  'iPad Air (5th generation)': ['iPad13,16', 'iPad13,17'], 'iPad Air 11-inch (M2)': ['iPad14,8', 'iPad14,9'], 'iPad Air 13-inch (M2)': ['iPad14,10', 'iPad14,11'],
  'iPad Air 11-inch (M3)': ['iPad15,3', 'iPad15,4'], 'iPad Air 13-inch (M3)': ['iPad15,5', 'iPad15,6'],
  'iPad mini 4': ['iPad5,1', 'iPad5,2'], 'iPad mini (5th generation)': ['iPad11,1', 'iPad11,2'], 'iPad mini (6th generation)': ['iPad14,1', 'iPad14,2'],
  'iPad mini (A17 Pro)': ['iPad16,1', 'iPad16,2'],
  'iPad Pro (9.7-inch)': ['iPad6,3', 'iPad6,4'], 'iPad Pro (12.9-inch)': ['iPad6,7', 'iPad6,8'], 'iPad Pro (12.9-inch) (2nd generation)': ['iPad7,1', 'iPad7,2'],
  'iPad Pro (10.5-inch)': ['iPad7,3', 'iPad7,4'], 'iPad Pro (11-inch)': ['iPad8,1', 'iPad8,2', 'iPad8,3', 'iPad8,4'],
  'iPad Pro (12.9-inch) (3rd generation)': ['iPad8,5', 'iPad8,6', 'iPad8,7', 'iPad8,8'], 'iPad Pro (11-inch) (2nd generation)': ['iPad8,9', 'iPad8,10'],
  'iPad Pro (12.9-inch) (4th generation)': ['iPad8,11', 'iPad8,12'], 'iPad Pro (11-inch) (3rd generation)': ['iPad13,4', 'iPad13,5', 'iPad13,6', 'iPad13,7'],
  'iPad Pro (12.9-inch) (5th generation)': ['iPad13,8', 'iPad13,9', 'iPad13,10', 'iPad13,11'], 'iPad Pro (11-inch) (4th generation)': ['iPad14,3', 'iPad14,4'],
  'iPad Pro (12.9-inch) (6th generation)': ['iPad14,5', 'iPad14,6'], 'iPad Pro 11-inch (M4)': ['iPad16,3', 'iPad16,4'], 'iPad Pro 13-inch (M4)': ['iPad16,5', 'iPad16,6'],
})

/** Device families as Apple counts them for the yearly registration limit (App Store Connect `deviceClass`). */
export const DEVICE_FAMILIES = ['iphone', 'ipad', 'ipod', 'watch', 'tv', 'mac', 'vision', 'unknown'] as const
export type DeviceFamilyName = (typeof DEVICE_FAMILIES)[number]

const FAMILY_BY_PREFIX: ReadonlyArray<readonly [RegExp, DeviceFamilyName, string]> = [
  [/^iPhone\d/, 'iphone', 'iPhone'],
  [/^iPad\d/, 'ipad', 'iPad'],
  [/^iPod\d/, 'ipod', 'iPod touch'],
  [/^Watch\d/, 'watch', 'Apple Watch'],
  [/^AppleTV\d/, 'tv', 'Apple TV'],
  [/^RealityDevice\d/, 'vision', 'Apple Vision Pro'],
  [/^(?:Mac|iMac|MacBook\w*|Macmini|MacPro)\d/, 'mac', 'Mac'],
]

/** What a PRODUCT value says about the device. */
export interface DeviceModel {
  /** The identifier as reported, e.g. "iPhone15,2"; null when the device sent none. */
  product: string | null
  /** "iPhone 14 Pro"; for an identifier not in the table, the family's name ("iPhone"). */
  name: string | null
  family: DeviceFamilyName
}

/**
 * Reads a PRODUCT value. Unknown or odd values are kept as given (capped) with family "unknown":
 * the device still enrols; only the labels are less precise.
 *
 * @example describeModel('iPhone15,2') // { product: 'iPhone15,2', name: 'iPhone 14 Pro', family: 'iphone' }
 */
export function describeModel(product: string | null | undefined): DeviceModel {
  const value = typeof product === 'string' ? product.trim().slice(0, 64) : ''
  if (value === '') return { product: null, name: null, family: 'unknown' }
  const match = FAMILY_BY_PREFIX.find(([pattern]) => pattern.test(value))
  if (!match) return { product: value, name: null, family: 'unknown' }
  return { product: value, name: MODELS[value] ?? match[2], family: match[1] }
}

function table(byName: Record<string, string[]>): Record<string, string> {
  const result: Record<string, string> = Object.create(null)
  for (const [name, identifiers] of Object.entries(byName)) for (const identifier of identifiers) result[identifier] = name
  return result
}
