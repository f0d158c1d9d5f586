import { build } from 'plist'
import { appleDeviceName } from './device-names.ts'
import type { DeviceFamilyName } from './device-models.ts'

/** What an export needs of a device. */
export interface ExportableDevice {
  udid: string
  /** The display name (the team's name for it, else the device's own). */
  name: string | null
  modelName: string | null
  family: DeviceFamilyName
}

/** Apple's platform for a device in the bulk files: everything but Macs registers as iOS. */
export function applePlatform(family: DeviceFamilyName): 'ios' | 'mac' {
  return family === 'mac' ? 'mac' : 'ios'
}

/** The name Apple gets: cleaned to its limits, never empty ("iPhone 14 Pro 2E" from the model and UDID). */
export function exportName(device: ExportableDevice): string {
  return appleDeviceName(device.name, `${device.modelName ?? 'Device'} ${device.udid.slice(-6)}`)
}

/**
 * The developer portal's "Register Multiple Devices" text file: tab-separated, header
 * `Device ID\tDevice Name\tDevice Platform` (the portal refuses a file without it), one device per
 * line, platform `ios` or `mac`. Names are cleaned (no tabs, newlines or emoji; ≤ 50 characters).
 */
export function appleDeviceList(devices: readonly ExportableDevice[]): string {
  const lines = ['Device ID\tDevice Name\tDevice Platform']
  for (const device of devices) lines.push(`${device.udid}\t${exportName(device)}\t${applePlatform(device.family)}`)
  return `${lines.join('\n')}\n`
}

/**
 * The same list as Apple's `.deviceids` property list (what Xcode and the portal also accept):
 * `{ "Device UDIDs": [{ deviceIdentifier, deviceName, devicePlatform }] }`. XML escaping is the
 * plist builder's.
 */
export function appleDeviceIdsPlist(devices: readonly ExportableDevice[]): string {
  return build({
    'Device UDIDs': devices.map((device) => ({
      deviceIdentifier: device.udid,
      deviceName: exportName(device),
      devicePlatform: applePlatform(device.family),
    })),
  })
}
