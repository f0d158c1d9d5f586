import type { IpaInfo } from '../ipa/types.ts'
import { profileListsUdid } from './udid.ts'

/** Why a build will or will not install on one device. */
export type Installability =
  | { installable: true; reason: 'in-profile' | 'all-devices' }
  | { installable: false; reason: 'not-in-profile' | 'profile-expired' | 'app-store' | 'unsigned' | 'simulator' | 'other'; message: string }

/** Errors (as inspect reports them at upload) that stop any device, whatever the device list says. */
const BLOCKING_CODES = new Set(['certificate-not-in-profile', 'bundle-id-not-in-profile', 'extension-profile-mismatch', 'executable-missing', 'free-team-profile'])

/**
 * Will this build install on the device with `udid`, judged at `now`? Development and ad hoc
 * builds install only on the devices their profile lists (iOS says "Unable to Install" otherwise);
 * enterprise builds and profiles that provision all devices install anywhere; App Store builds
 * and Simulator builds nowhere over the air.
 */
export function installabilityFor(info: IpaInfo, udid: string, now: Date): Installability {
  const profile = info.profile
  if (info.platform === 'iphonesimulator') return { installable: false, reason: 'simulator', message: 'a Simulator build: it does not run on devices' }
  if (!profile) return { installable: false, reason: 'unsigned', message: 'the build is not signed for devices' }
  if (profile.kind === 'app-store') return { installable: false, reason: 'app-store', message: 'signed for the App Store: it installs only through TestFlight or the App Store' }
  if (profile.expiresAt && Date.parse(profile.expiresAt) <= now.getTime()) {
    return { installable: false, reason: 'profile-expired', message: `its provisioning profile expired on ${profile.expiresAt.slice(0, 10)}` }
  }
  const blocking = info.problems.find((problem) => problem.severity === 'error' && BLOCKING_CODES.has(problem.code))
  if (blocking) return { installable: false, reason: 'other', message: blocking.message }
  if (profile.kind === 'enterprise' || profile.provisionsAllDevices) return { installable: true, reason: 'all-devices' }
  if (profileListsUdid(profile.provisionedDevices, udid)) return { installable: true, reason: 'in-profile' }
  return { installable: false, reason: 'not-in-profile', message: "this device is not in the build's provisioning profile" }
}

/** True when the build installs only on listed devices (development and ad hoc, without ProvisionsAllDevices). */
export function hasDeviceList(info: IpaInfo): boolean {
  const profile = info.profile
  return profile !== null && (profile.kind === 'development' || profile.kind === 'ad-hoc') && !profile.provisionsAllDevices
}

/** Splits `devices` into those the build's profile lists and those it misses (for device-limited builds). */
export function splitByProfile<T extends { udid: string }>(info: IpaInfo, devices: readonly T[]): { provisioned: T[]; missing: T[] } {
  const listed = info.profile?.provisionedDevices ?? []
  const provisioned: T[] = []
  const missing: T[] = []
  for (const device of devices) (profileListsUdid(listed, device.udid) ? provisioned : missing).push(device)
  return { provisioned, missing }
}

/** What an install page says about the visitor's own device (known from the enrolment cookie). */
export interface DeviceProfileCheck {
  inProfile: boolean
  /** "✓ Jane’s iPhone is in this build's profile" / "✗ … is not in this build's profile — installation will fail" */
  message: string
  /** What to do about it (null when all is well). */
  nextStep: string | null
}

/**
 * The install page's verdict for a known device, for builds limited to listed devices; null for
 * builds where the device list does not matter (enterprise, all devices) or that cannot install
 * on any device anyway (the page says so already).
 */
export function deviceProfileCheck(info: IpaInfo, device: { name: string; udid: string }, now: Date): DeviceProfileCheck | null {
  if (!hasDeviceList(info)) return null
  const verdict = installabilityFor(info, device.udid, now)
  if (verdict.installable) return { inProfile: true, message: `✓ ${device.name} is in this build's profile`, nextStep: null }
  if (verdict.reason !== 'not-in-profile') return null
  return {
    inProfile: false,
    message: `✗ ${device.name} is not in this build's profile — installation will fail`,
    nextStep: `Ask the developer for a new build that includes this device: the team already sees “${device.name}” in its device list.`,
  }
}
