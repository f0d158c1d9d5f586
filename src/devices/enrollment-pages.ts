import type { IpaInfo } from '../ipa/types.ts'
import type { DetectedClient } from '../ota/client-detection.ts'
import { installabilityFor, type Installability } from './provisioning.ts'

/** The three steps of the Profile Service flow, as a tester on the iPhone does them. */
export const ENROLLMENT_STEPS: readonly string[] = [
  'Tap “Register this device”, then “Allow”. Safari says the profile was downloaded: tap Close.',
  'Open Settings and tap “Profile Downloaded” at the top (or General › VPN & Device Management), then Install. Enter your passcode and tap Install again.',
  'iOS sends the device’s identifier and brings you back to Safari, to a page that confirms your device. Nothing stays installed.',
]

/** What stops the flow in practice, with the way around each. */
export const ENROLLMENT_BLOCKERS: readonly string[] = [
  'Use Safari. In-app browsers (Mail apps, Slack, Instagram…) and other browsers cannot download profiles.',
  'Install within 8 minutes: iOS discards a downloaded profile after that, and keeps only the latest one. Download again if it is gone.',
  'Stolen Device Protection (iOS 17.3+): away from a familiar location, iOS may ask for Face ID or Touch ID and a security delay before installing. Try again at home or work.',
  'Lockdown Mode refuses configuration profiles: turn it off for the moment in Settings › Privacy & Security › Lockdown Mode.',
  'Devices managed by an organisation may not allow installing profiles: ask its IT department.',
]

export interface EnrollmentPageInput {
  client: DetectedClient
  /** This visit's download link (null when the page must not offer one). */
  profileUrl: string
  /** The page's own URL: what the QR code and "copy link" hand on. */
  pageUrl: string
  organization: string
  profilesSigned: boolean
  host: string
  /** The tester a personal link names; null for the anonymous page. */
  tester: string | null
  /** The device this browser already enrolled (cookie), if any. */
  knownDevice: { name: string } | null
}

/** Everything the enrolment page shows; plain data, escaping is the template's job. */
export interface EnrollmentPageModel {
  organization: string
  tester: string | null
  /** iOS Safari (or an iPad in desktop mode): the download button and the steps. */
  showDownload: boolean
  profileUrl: string
  /** Not on an iPhone/iPad: a QR code of the page. */
  showQr: boolean
  qrText: string
  /** In-app or other browsers on iOS: open in Safari first. */
  openInSafari: string | null
  steps: readonly string[]
  blockers: readonly string[]
  /** How Settings will label the profile. */
  signatureNote: string
  profileSigned: boolean
  knownDevice: string | null
}

/**
 * The enrolment page's decisions. Only Safari on the device itself can download and install the
 * profile, so other iOS browsers get "open in Safari", and desktops a QR code of this page (a
 * personal link stays personal). An unsigned profile shows as "Not Verified" in Settings: the page
 * says so plainly, so testers are not alarmed — or fooled by a look-alike host.
 */
export function enrollmentPageModel(input: EnrollmentPageInput): EnrollmentPageModel {
  const { client } = input
  const onDevice = client.kind === 'ios-safari' || client.kind === 'ipados-desktop-mode'
  const inOtherBrowser = client.kind === 'ios-in-app' || client.kind === 'ios-other-browser'
  const browser = client.kind === 'ios-in-app' ? (client.inAppName ? `${client.inAppName}'s built-in browser` : 'This app’s built-in browser') : 'This browser'
  return {
    organization: input.organization,
    tester: input.tester,
    showDownload: onDevice,
    profileUrl: input.profileUrl,
    showQr: !onDevice && !inOtherBrowser,
    qrText: input.pageUrl,
    openInSafari: inOtherBrowser ? `${browser} cannot download profiles. Open this page in Safari: tap the ••• or share button and choose “Open in Safari”, or copy the link into Safari.` : null,
    steps: ENROLLMENT_STEPS,
    blockers: ENROLLMENT_BLOCKERS,
    profileSigned: input.profilesSigned,
    signatureNote: input.profilesSigned
      ? `The profile is signed with this server's certificate (${input.host}): Settings shows it as Verified when the device trusts that certificate.`
      : `The profile is not signed, so Settings shows it as “Not Verified” in red. That is expected for this server: check that the profile comes from ${input.host} before installing.`,
    knownDevice: input.knownDevice?.name ?? null,
  }
}

/** One app's latest build, as the result page lists it. */
export interface ResultBuildInput {
  appName: string
  versionLabel: string
  info: IpaInfo
  /** The build's install page. */
  pageUrl: string
  /** The itms-services link (null when the build is not installable anyway). */
  installUrl: string | null
}

export interface ResultBuildItem {
  appName: string
  versionLabel: string
  installable: boolean
  /** "Installs on this device" or why not. */
  verdict: string
  pageUrl: string
  installUrl: string | null
}

/** The result page's list: for each app's latest build, whether it installs on this device, and why not. */
export function resultBuildItems(udid: string, builds: readonly ResultBuildInput[], now: Date): ResultBuildItem[] {
  return builds.map((build) => {
    const verdict: Installability = installabilityFor(build.info, udid, now)
    return {
      appName: build.appName,
      versionLabel: build.versionLabel,
      installable: verdict.installable,
      verdict: verdict.installable ? (verdict.reason === 'in-profile' ? 'Installs on this device: it is in the build’s profile.' : 'Installs on any device.') : `Will not install: ${verdict.message}.`,
      pageUrl: build.pageUrl,
      installUrl: verdict.installable ? build.installUrl : null,
    }
  })
}
