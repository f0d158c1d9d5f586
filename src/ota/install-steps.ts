import type { ProfileKind } from '../ipa/types.ts'
import type { DetectedClient } from './client-detection.ts'
import { compareVersions } from './install-labels.ts'

/** The instructions around the Install button, in the order they happen. */
export interface InstallSteps {
  /** What to expect right after tapping Install. */
  afterTap: string[]
  /** What to do before the app opens the first time (trust, Developer Mode, registration). */
  afterInstall: string[]
}

/**
 * Instructions per signing kind, from Apple's deployment guide and the field reports in the OTA
 * notes (§B.1, §B.5, matrix rows 15, 27–30):
 * - after tapping Install, iOS asks "<manifest host> would like to install <title>" and then
 *   installs in the background on the Home Screen (iOS 8+); Safari itself shows nothing;
 * - enterprise builds open with "Untrusted Enterprise Developer" until the developer is trusted in
 *   Settings › General › VPN & Device Management; since iOS 18 trusting needs "Allow & Restart";
 * - development and ad hoc builds install only on devices listed in the profile, and on iOS 16+
 *   need Developer Mode (Settings › Privacy & Security, which appears only once such an app is
 *   installed, and restarts the device).
 * Version-gated steps are shown when the client's iOS version is unknown.
 */
export function installSteps(input: { kind: ProfileKind | null; title: string; manifestHost: string; teamName: string | null; client: DetectedClient }): InstallSteps {
  const { kind, title, manifestHost, teamName, client } = input
  const atLeast = (version: string): boolean => client.iosVersion === null || compareVersions(client.iosVersion, version) >= 0
  const developer = teamName ? `"${teamName}"` : "the app's developer"

  const afterTap = [
    `iOS asks: "${manifestHost}" would like to install "${title}". Tap Install.`,
    'Safari then shows nothing more: go to the Home Screen, where the app icon appears and fills up as it downloads.',
    'If nothing happens after tapping Install, make sure this page is open in Safari and try again.',
  ]

  const afterInstall: string[] = []
  if (kind === 'enterprise') {
    afterInstall.push(
      `The first time you open the app, iOS says "Untrusted Enterprise Developer". Open Settings › General › VPN & Device Management, tap ${developer} and then Trust.`,
    )
    if (atLeast('18')) afterInstall.push('On iOS 18 and later, tap "Allow & Restart": the device restarts to finish trusting the developer.')
    afterInstall.push('Trusting needs an Internet connection: if Settings shows "Not Verified", connect and tap Verify App.')
  } else if (kind === 'development' || kind === 'ad-hoc') {
    afterInstall.push(
      "Your device must be registered in the build's provisioning profile. If iOS says the app could not be installed, send your device's identifier (UDID) to the developer and wait for a new build.",
    )
    if (atLeast('16')) {
      afterInstall.push(
        'Before the app opens, turn on Developer Mode: Settings › Privacy & Security › Developer Mode (the switch appears once the app is installed), then restart and confirm "Turn On".',
      )
    }
  }
  return { afterTap, afterInstall }
}

/** The banner for in-app browsers and non-Safari browsers on iOS, which ignore itms-services links. */
export function openInSafariMessage(client: DetectedClient): string | null {
  if (client.kind === 'ios-in-app') {
    const where = client.inAppName ? `${client.inAppName}'s built-in browser` : "This app's built-in browser"
    return `${where} cannot install apps. Open this page in Safari: tap the ••• or share button and choose "Open in Safari", or copy the link and paste it into Safari.`
  }
  if (client.kind === 'ios-other-browser') {
    return 'Only Safari can install apps from a web page. Copy this link and open it in Safari.'
  }
  return null
}

/** The notice for visitors who cannot install at all from this device. */
export function wrongPlatformMessage(client: DetectedClient): string | null {
  if (client.kind === 'android') return 'This is an iOS app: open this page on an iPhone or iPad.'
  return null
}
