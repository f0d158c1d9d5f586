import { deviceProfileCheck, hasDeviceList, type DeviceProfileCheck } from '../devices/provisioning.ts'
import type { ProfileKind } from '../ipa/types.ts'
import type { AppRecord, BuildRecord } from '../store/records.ts'
import type { DetectedClient } from './client-detection.ts'
import { IPAD_TOUCH_TEST } from './client-detection.ts'
import { compareVersions, dateLabel, deviceFamilyLabels, relativeTime, signingLabel, sizeLabel, versionLabel } from './install-labels.ts'
import { installSteps, openInSafariMessage, wrongPlatformMessage } from './install-steps.ts'
import type { PageProblem } from './page-problems.ts'
import { pageProblems } from './page-problems.ts'

/** What the server knows when rendering an install page; URLs are built by the caller (public-urls). */
/** Shown on every page when Airstrip serves plain HTTP: iOS installs only over HTTPS. */
export const INSECURE_HTTP_BANNER =
  'This server is served over plain HTTP: iOS will refuse to install the app. It must be served over HTTPS with a trusted certificate.'

export interface InstallPageInput {
  app: AppRecord
  build: BuildRecord
  history: BuildRecord[]
  urls: { installPage: string; manifest: string; itms: string; icon: string | null }
  client: DetectedClient
  now: Date
  insecureHttp: boolean
  /** The visitor's own device, when known (the enrolment result page's cookie). */
  device?: { name: string; udid: string } | null
  /** The enrolment page, offered on device-limited builds when the device is not known. */
  enrollUrl?: string | null
  /** The build's channel, when worth naming (the app has several, or it is not "main"). */
  channel?: string | null
  /** The app's channels the visitor may see (app page), with links built by the caller. */
  channels?: InstallPageChannel[]
}

/** One channel in the app page's list: its newest version, or "locked" until its password is given. */
export interface InstallPageChannel {
  name: string
  url: string
  versionLabel: string | null
  locked: boolean
  current: boolean
}

/** Everything the install page template shows; plain data, HTML escaping is the template's job. */
export interface InstallPageModel {
  appName: string
  /** The build's display name (what iOS shows under the icon). */
  title: string
  bundleId: string
  versionLabel: string
  size: { bytes: number; label: string }
  uploaded: { iso: string; label: string; relative: string }
  /** Raw markdown from the uploader: pages render it with src/web/release-notes.ts (never as-is). */
  releaseNotes: string | null
  minimumOsVersion: string | null
  /** The visitor's iOS version is known and below the app's MinimumOSVersion. */
  minimumOsTooHigh: boolean
  deviceFamilies: string[]
  signing: {
    kind: ProfileKind | null
    label: string
    teamName: string | null
    expiresAt: string | null
    expired: boolean
    deviceCount: number | 'all devices' | null
  }
  problems: PageProblem[]
  /** False when the build cannot install on any device (App Store, Simulator, unsigned, expired…). */
  canInstall: boolean
  /** Show the Install button outright: iOS Safari and an installable build. */
  showInstallButton: boolean
  /**
   * For 'ipados-desktop-mode': the JS expression deciding between button (true: an iPad) and QR
   * code (false: a Mac). Null otherwise.
   */
  touchTest: string | null
  /** Show the QR code of `qrText` (desktop visitors; Mac-looking visitors when `touchTest` fails). */
  showQr: boolean
  /** The https install page, never the itms-services link: cameras open http(s) links only. */
  qrText: string
  openInSafari: string | null
  wrongPlatform: string | null
  insecureBanner: string | null
  afterTap: string[]
  afterInstall: string[]
  urls: InstallPageInput['urls']
  history: Array<{ id: string; versionLabel: string; createdAt: string; createdLabel: string; current: boolean }>
  /** "✓ <device> is in this build's profile" / "✗ … installation will fail", for a known device. */
  deviceCheck: DeviceProfileCheck | null
  /** Enrolment link to check first: unknown device, device-limited build, on the device itself. */
  enrollOffer: string | null
  channel: string | null
  channels: InstallPageChannel[]
}

const NOT_INSTALLABLE: ReadonlySet<ProfileKind | null> = new Set<ProfileKind | null>(['app-store', null])

/**
 * Everything the install page shows, computed without HTML so the template stays logic-free and
 * the decisions are unit-tested. Expiry is judged at `now` (the page may be opened months after
 * the upload), the Install button appears only where iOS will act on it (Safari; an iPad in desktop
 * mode decided on the page), other browsers and in-app webviews get an "open in Safari" banner,
 * and the after-install steps follow the signing kind (trust for enterprise, Developer Mode and
 * registered devices for development/ad hoc).
 */
export function installPageModel(input: InstallPageInput): InstallPageModel {
  const { app, build, client, now } = input
  const info = build.info
  const profile = info.profile
  const kind = profile?.kind ?? null
  const expired = profile?.expiresAt ? Date.parse(profile.expiresAt) <= now.getTime() : false
  const problems = pageProblems(info, build.createdAt, now)
  const canInstall = !NOT_INSTALLABLE.has(kind) && info.platform !== 'iphonesimulator' && !expired && !problems.some((p) => p.severity === 'error')
  const title = build.name || app.name
  const minimumOsVersion = info.minimumOSVersion
  const steps = installSteps({ kind: canInstall ? kind : null, title, manifestHost: hostOf(input.urls.manifest), teamName: profile?.teamName ?? null, client })

  return {
    appName: app.name,
    title,
    bundleId: build.bundleId,
    versionLabel: versionLabel(build.version, build.build),
    size: { bytes: build.size, label: sizeLabel(build.size) },
    uploaded: { iso: build.createdAt, label: dateLabel(build.createdAt), relative: relativeTime(build.createdAt, now) },
    releaseNotes: build.notes,
    minimumOsVersion,
    minimumOsTooHigh: client.iosVersion !== null && minimumOsVersion !== null && compareVersions(client.iosVersion, minimumOsVersion) < 0,
    deviceFamilies: deviceFamilyLabels(info.deviceFamily),
    signing: {
      kind,
      label: signingLabel(kind),
      teamName: profile?.teamName ?? null,
      expiresAt: profile?.expiresAt ?? null,
      expired,
      deviceCount: !profile || kind === 'app-store' ? null : profile.provisionsAllDevices || kind === 'enterprise' ? 'all devices' : profile.provisionedDevices.length,
    },
    problems,
    canInstall,
    showInstallButton: canInstall && client.kind === 'ios-safari',
    touchTest: canInstall && client.kind === 'ipados-desktop-mode' ? IPAD_TOUCH_TEST : null,
    showQr: client.kind === 'desktop' || client.kind === 'ipados-desktop-mode',
    qrText: input.urls.installPage,
    openInSafari: openInSafariMessage(client),
    wrongPlatform: wrongPlatformMessage(client),
    insecureBanner: input.insecureHttp ? INSECURE_HTTP_BANNER : null,
    afterTap: canInstall ? steps.afterTap : [],
    afterInstall: steps.afterInstall,
    urls: input.urls,
    history: input.history.map((entry) => ({
      id: entry.id,
      versionLabel: versionLabel(entry.version, entry.build),
      createdAt: entry.createdAt,
      createdLabel: dateLabel(entry.createdAt),
      current: entry.id === build.id,
    })),
    deviceCheck: canInstall && input.device ? deviceProfileCheck(info, input.device, now) : null,
    enrollOffer:
      canInstall && !input.device && input.enrollUrl && hasDeviceList(info) && (client.kind === 'ios-safari' || client.kind === 'ipados-desktop-mode') ? input.enrollUrl : null,
    channel: input.channel ?? null,
    channels: input.channels ?? [],
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

/**
 * For a standalone page (`airstrip export`), where no server reads the User-Agent: the page decides
 * between Install button and QR code itself (iPhone/iPod/iPad, or an iPad in desktop mode with its
 * Mac User-Agent and a touch screen). A Mac or Android phone sees the QR code.
 */
export const STANDALONE_IOS_TEST =
  '/iPhone|iPad|iPod/.test(navigator.userAgent)||(/Macintosh/.test(navigator.userAgent)&&navigator.maxTouchPoints>1)'

/**
 * The install page model of a static deployment: decided on the page like an iPad in desktop mode
 * (button or QR code by `STANDALONE_IOS_TEST`), served over https by definition, and dated
 * absolutely because the file is read long after it was written ("uploaded 2 minutes ago" would
 * stay on it forever).
 */
export function standaloneInstallPageModel(input: Omit<InstallPageInput, 'client' | 'insecureHttp'>): InstallPageModel {
  const model = installPageModel({ ...input, client: { kind: 'ipados-desktop-mode', iosVersion: null, inAppName: null }, insecureHttp: false })
  return {
    ...model,
    touchTest: model.touchTest === null ? null : STANDALONE_IOS_TEST,
    uploaded: { ...model.uploaded, relative: `on ${model.uploaded.label}` },
  }
}
