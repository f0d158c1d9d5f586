import { resolve } from 'node:path'
import type { SettingReaders } from '../notify/notify-config.ts'

/** The devices part of the config (`Config.devices`): enrolment profile labels, device CA, App Store Connect key. */
export interface DeviceConfig {
  /** PayloadOrganization of the enrolment profile, and the name pages use for the team. */
  organization: string
  /** The enrolment profile's name in Settings. */
  enrollProfileName: string
  /** PEM CA(s) every enrolling device's certificate must chain to (Apple's device CA); null: the chain is recorded, not required. */
  deviceCaPath: string | null
  /** App Store Connect API key; null: registration with Apple is off. */
  appStoreConnect: { issuerId: string; keyId: string; keyPath: string } | null
}

/** Reads and checks the device settings. */
export function readDeviceConfig(read: SettingReaders): DeviceConfig {
  const organization = read.text('organization') ?? 'Airstrip'
  const enrollProfileName = read.text('enrollProfileName') ?? `${organization} device registration`
  for (const [key, value] of [['organization', organization], ['enrollProfileName', enrollProfileName]] as const) {
    if (value.length > 100 || /[\p{Cc}]/u.test(value)) read.fail(`${key}: at most 100 characters on one line`)
  }
  const issuerId = read.text('ascIssuerId')
  const keyId = read.text('ascKeyId')
  const keyPath = read.text('ascKey')
  const given = [issuerId, keyId, keyPath].filter((value) => value !== undefined).length
  if (given !== 0 && given !== 3) read.fail('--asc-issuer-id, --asc-key-id and --asc-key go together (an App Store Connect API key)')
  const deviceCa = read.text('deviceCa')
  return {
    organization,
    enrollProfileName,
    deviceCaPath: deviceCa === undefined ? null : resolve(deviceCa),
    appStoreConnect: issuerId && keyId && keyPath ? { issuerId, keyId, keyPath: resolve(keyPath) } : null,
  }
}

/** Lines for `describeConfig`; the key file's name is masked like the TLS key's. */
export function describeDeviceConfig(config: DeviceConfig): string[] {
  return [
    `organization ${config.organization}`,
    ...(config.deviceCaPath ? [`device CA    ${config.deviceCaPath}`] : []),
    ...(config.appStoreConnect ? [`App Store Connect  issuer ${config.appStoreConnect.issuerId}, key ${config.appStoreConnect.keyId} (${config.appStoreConnect.keyPath.replace(/[^/]+$/, '***')})`] : []),
  ]
}
