import type { IpaInfo, Problem, ProvisioningProfile } from './types.ts'

const DAY = 24 * 60 * 60 * 1000
/** Warn this long before a profile or certificate expires: enough time to re-sign and re-distribute. */
export const EXPIRY_WARNING_DAYS = 14

/** Signers Apple uses for provisioning profiles (old "iPhone OS" and current names). */
const APPLE_PROFILE_SIGNERS = /^(Apple iPhone OS Provisioning Profile Signing|Mac OS X Provisioning Profile Signing|Apple .*Provisioning Profile Signing)$/

/**
 * Build-health findings, evaluated at `now`: what will make installation over the air fail (error),
 * what will soon (warning) and what is worth knowing (info). Pure: the same build and clock give the
 * same list.
 */
export function evaluateProblems(build: Omit<IpaInfo, 'problems'>, now: Date): Problem[] {
  const problems: Problem[] = []
  const add = (code: string, severity: Problem['severity'], message: string): void => void problems.push({ code, severity, message })
  const { profile, signingCertificate } = build

  if (build.platform === 'iphonesimulator') {
    add('simulator-build', 'error', 'this is a Simulator build; it cannot run on a device. Export an "iphoneos" archive instead.')
  }
  if (!profile) {
    add('unsigned', 'error', 'the app has no embedded.mobileprovision: it is not signed for devices and cannot be installed over the air.')
  } else {
    checkProfile(profile, build.bundleId, now, add)
    if (signingCertificate && profile.certificates.length > 0 && !profile.certificates.some((c) => c.sha1 === signingCertificate.sha1)) {
      add('certificate-not-in-profile', 'error', `the app is signed by "${signingCertificate.subject}", which is not one of the profile's certificates: iOS will refuse to install it.`)
    }
  }

  if (signingCertificate) {
    const left = Date.parse(signingCertificate.notAfter) - now.getTime()
    if (left <= 0) {
      add('certificate-expired', 'error', `the signing certificate "${signingCertificate.subject}" expired on ${day(signingCertificate.notAfter)}: the app will not install or launch.`)
    } else if (left < EXPIRY_WARNING_DAYS * DAY) {
      add('certificate-expires-soon', 'warning', `the signing certificate "${signingCertificate.subject}" expires on ${day(signingCertificate.notAfter)} (in ${Math.ceil(left / DAY)} days).`)
    }
  } else if (profile && build.executable) {
    add('signature-unreadable', 'info', 'no code signature certificate could be read from the executable.')
  }

  for (const extension of build.extensions) {
    const label = `${extension.type === 'watch-app' ? 'watch app' : 'extension'} ${extension.bundleId ?? extension.path}`
    if (profile && !extension.profile) {
      add('extension-profile-mismatch', 'error', `the ${label} has no embedded.mobileprovision while the app has one.`)
    } else if (profile && extension.profile && extension.profile.kind !== profile.kind) {
      add('extension-profile-mismatch', 'error', `the ${label} is signed "${extension.profile.kind}" but the app "${profile.kind}": every bundle must use the same kind of profile.`)
    } else if (extension.profile && extension.bundleId && !applicationIdentifierCovers(extension.profile.applicationIdentifier, extension.bundleId)) {
      add('extension-profile-mismatch', 'error', `the ${label}'s profile (${extension.profile.applicationIdentifier}) does not cover its bundle id.`)
    }
    if (extension.profile?.expiresAt && Date.parse(extension.profile.expiresAt) <= now.getTime()) {
      add('extension-profile-expired', 'error', `the ${label}'s provisioning profile expired on ${day(extension.profile.expiresAt)}.`)
    }
  }
  return problems
}

function checkProfile(profile: ProvisioningProfile, bundleId: string, now: Date, add: (code: string, severity: Problem['severity'], message: string) => void): void {
  if (profile.expiresAt) {
    const left = Date.parse(profile.expiresAt) - now.getTime()
    if (left <= 0) {
      add('profile-expired', 'error', `the provisioning profile "${profile.name ?? profile.uuid}" expired on ${day(profile.expiresAt)}: installation will fail.`)
    } else if (left < EXPIRY_WARNING_DAYS * DAY) {
      add('profile-expires-soon', 'warning', `the provisioning profile expires on ${day(profile.expiresAt)} (in ${Math.ceil(left / DAY)} days); the app stops launching then.`)
    }
  }
  if (profile.kind === 'app-store') {
    add('app-store-signed', 'error', 'the app is signed for App Store distribution: such builds never install over the air. Export it with the ad-hoc, enterprise or development method.')
  }
  if (!applicationIdentifierCovers(profile.applicationIdentifier, bundleId)) {
    add('bundle-id-not-in-profile', 'error', `the profile's App ID "${profile.applicationIdentifier ?? '(none)'}" does not cover the bundle id "${bundleId}".`)
  }
  if (profile.kind === 'development' && profile.createdAt && profile.expiresAt && Date.parse(profile.expiresAt) - Date.parse(profile.createdAt) <= 7 * DAY) {
    add('free-team-profile', 'warning', 'the profile lasts 7 days, as those of free (personal team) accounts do: Apple does not allow such apps to be installed over the air.')
  }
  if (profile.encoding !== 'cms') {
    add('profile-not-signed', 'warning', 'the provisioning profile is a bare property list, not signed by Apple: iOS will reject it.')
  } else if (!profile.signers.some((signer) => APPLE_PROFILE_SIGNERS.test(signer))) {
    add('profile-not-signed-by-apple', 'warning', `the provisioning profile is signed by "${profile.signers.join(', ') || 'unknown'}", not by Apple: iOS will reject it.`)
  }
  const expiredListed = profile.certificates.filter((c) => Date.parse(c.notAfter) <= now.getTime())
  if (expiredListed.length > 0) {
    add('profile-certificates-expired', 'info', `${expiredListed.length} of the profile's ${profile.certificates.length} certificates have expired.`)
  }
}

/**
 * Whether an App ID ("TEAMID.com.example.app", "TEAMID.com.example.*", "TEAMID.*") covers a bundle
 * id. The prefix before the first dot is the App ID prefix (a team id or a legacy seed id).
 */
export function applicationIdentifierCovers(applicationIdentifier: string | null, bundleId: string): boolean {
  if (!applicationIdentifier) return false
  const dot = applicationIdentifier.indexOf('.')
  const pattern = dot === -1 ? applicationIdentifier : applicationIdentifier.slice(dot + 1)
  if (pattern === '*') return true
  if (pattern.endsWith('*')) return bundleId.startsWith(pattern.slice(0, -1))
  return pattern === bundleId
}

function day(iso: string): string {
  return iso.slice(0, 10)
}
