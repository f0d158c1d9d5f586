import type { DeviceStore } from '../store/devices.ts'
import { YEARLY_DEVICE_LIMIT, familyUsage, type AppStoreConnectClient } from './app-store-connect.ts'
import { applePlatform, exportName } from './apple-export.ts'
import type { DeviceFamilyName } from './device-models.ts'

/** One device's outcome of registering it with App Store Connect. */
export interface AppleRegistration {
  id: string
  udid: string | null
  /** The name Apple got (cleaned to its limits). */
  name: string | null
  status: 'registered' | 'already-registered' | 'refused' | 'not-found'
  appleDeviceId: string | null
  /** Apple's reason for anything but `registered`. */
  message: string | null
}

/** How many of Apple's per-family yearly slots the account uses. */
export interface AppleUsage {
  total: number
  families: Array<{ deviceClass: string; count: number; limit: number; remaining: number }>
  /** Apple counts every device added this membership year, even disabled ones: the real use may be higher. */
  note: string
}

/**
 * Registers enrolled devices one by one (`POST /v1/devices`), recording on each device that Apple
 * knows it. "Already exists on this team" counts as known; a refusal (an invalid value) records
 * nothing. Registration does not add the device to existing profiles: a new build is needed.
 */
export async function registerDevicesWithApple(store: DeviceStore, client: AppStoreConnectClient, deviceIds: readonly string[]): Promise<AppleRegistration[]> {
  const outcomes: AppleRegistration[] = []
  for (const id of deviceIds) {
    const device = await store.getDevice(id)
    if (!device) {
      outcomes.push({ id, udid: null, name: null, status: 'not-found', appleDeviceId: null, message: 'no such device' })
      continue
    }
    const family = device.family as DeviceFamilyName
    const name = exportName({ udid: device.udid, name: device.name, modelName: device.modelName, family })
    const outcome = await client.registerDevice({ name, udid: device.udid, platform: applePlatform(family) === 'mac' ? 'MAC_OS' : 'IOS' })
    const appleDeviceId = outcome.status === 'registered' ? outcome.device.id : null
    if (outcome.status !== 'refused') await store.markRegisteredWithApple(device.id, appleDeviceId ?? device.appleDeviceId)
    outcomes.push({ id, udid: device.udid, name, status: outcome.status, appleDeviceId, message: outcome.status === 'registered' ? null : outcome.message })
  }
  return outcomes
}

/** The account's devices per family (`deviceClass`) against the yearly limit. */
export async function appleAccountUsage(client: AppStoreConnectClient): Promise<AppleUsage> {
  const listed = await client.listDevices()
  return {
    total: listed.length,
    families: familyUsage(listed),
    note: `Apple allows ${YEARLY_DEVICE_LIMIT} devices per family per membership year; devices removed or disabled this year still count, so the real use may be higher than listed.`,
  }
}
