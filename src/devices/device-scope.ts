import { AirstripError } from '../errors.ts'
import { versionLabel } from '../ota/install-labels.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { BuildRecord } from '../store/records.ts'
import type { DeviceRecord, DeviceStore } from '../store/devices.ts'
import { hasDeviceList, installabilityFor } from './provisioning.ts'
import { profileListsUdid } from './udid.ts'

/** Which devices a list or an export covers. */
export interface DeviceQuery {
  /** Judge against this app's latest build. */
  appId?: string | undefined
  /** Judge against this build. */
  buildId?: string | undefined
  /** Only devices that can (true) or cannot (false) install that build; needs appId or buildId. */
  provisioned?: boolean | undefined
  tester?: string | undefined
}

export type ScopedDevice = DeviceRecord & { provisioned: boolean | null }

/**
 * The devices a query selects, each marked with whether the build in scope (if any) installs on
 * it: listed in a development/ad hoc profile, or any device for enterprise builds; never for App
 * Store builds. Unknown ids are `build-not-found` / `app-not-found`.
 */
export async function devicesInScope(deps: { meta: MetaStore; store: DeviceStore; now: () => Date }, query: DeviceQuery): Promise<{ build: BuildRecord | null; devices: ScopedDevice[] }> {
  const build = await buildInScope(deps.meta, query)
  if (query.provisioned !== undefined && !build) throw new AirstripError('bad-request', 'filtering by "provisioned" needs a build (buildId) or an app (appId, its latest build)')
  const devices = (await deps.store.listDevices({ tester: query.tester })).map((device) => ({
    ...device,
    provisioned: build ? provisionedFor(build, device.udid, deps.now()) : null,
  }))
  return { build, devices: query.provisioned === undefined ? devices : devices.filter((device) => device.provisioned === query.provisioned) }
}

/** Per build: which enrolled devices its profile misses ("3 enrolled devices cannot install …"). */
export interface MissingDevicesReport {
  /** False for builds that do not limit devices (enterprise, all devices, App Store). */
  limitedToListedDevices: boolean
  provisioned: ScopedDevice[]
  missing: ScopedDevice[]
  summary: string
}

export function missingDevicesReport(build: BuildRecord, devices: readonly DeviceRecord[], now: Date): MissingDevicesReport {
  const label = `${build.name} ${versionLabel(build.version, build.build)}`
  const marked = devices.map((device) => ({ ...device, provisioned: provisionedFor(build, device.udid, now) }))
  if (!hasDeviceList(build.info)) {
    const kind = build.info.profile?.kind ?? 'unsigned'
    return {
      limitedToListedDevices: false,
      provisioned: marked.filter((device) => device.provisioned),
      missing: [],
      summary: kind === 'enterprise' || build.info.profile?.provisionsAllDevices ? `${label} installs on any device` : `${label} is not limited to listed devices (${kind})`,
    }
  }
  const missing = marked.filter((device) => !device.provisioned)
  const testers = new Set(missing.map((device) => device.tester).filter((tester) => tester !== null))
  const who = `${missing.length} enrolled device${missing.length === 1 ? '' : 's'}${testers.size > 0 ? ` (${testers.size} tester${testers.size === 1 ? '' : 's'})` : ''}`
  return {
    limitedToListedDevices: true,
    provisioned: marked.filter((device) => device.provisioned),
    missing,
    summary: missing.length === 0 ? `Every enrolled device is in the profile of ${label}` : `${who} cannot install ${label}`,
  }
}

async function buildInScope(meta: MetaStore, query: DeviceQuery): Promise<BuildRecord | null> {
  if (query.buildId !== undefined) {
    const build = await meta.getBuild(query.buildId)
    if (!build) throw new AirstripError('build-not-found')
    if (query.appId !== undefined && build.appId !== query.appId) throw new AirstripError('bad-request', 'the build does not belong to that app')
    return build
  }
  if (query.appId !== undefined) {
    if (!(await meta.getApp(query.appId))) throw new AirstripError('app-not-found')
    const latest = await meta.latestBuild(query.appId)
    if (!latest) throw new AirstripError('build-not-found', 'the app has no builds')
    return latest
  }
  return null
}

function provisionedFor(build: BuildRecord, udid: string, now: Date): boolean {
  const verdict = installabilityFor(build.info, udid, now)
  // Expiry or other faults do not change whether the profile lists the device.
  if (verdict.installable) return true
  if (verdict.reason === 'not-in-profile' || verdict.reason === 'app-store' || verdict.reason === 'unsigned' || verdict.reason === 'simulator') return false
  const profile = build.info.profile
  return profile !== null && (profile.kind === 'enterprise' || profile.provisionsAllDevices || profileListsUdid(profile.provisionedDevices, udid))
}
