import { profileListsUdid } from '../../devices/udid.ts'
import type { IpaInfo } from '../../ipa/types.ts'
import type { Evidence } from '../evidence.ts'
import type { CheckDefinition, CheckOutcome } from '../types.ts'
import { fail, pass, skip, warn } from './outcome.ts'

const INSTALL_SYMPTOM = 'The download completes, then "Unable to Install — please try again later" (within seconds).'
/** Problem codes of `evaluateProblems` that have a check of their own; build-problems reports the rest. */
const OWN_CHECKS = new Set([
  'profile-expired',
  'profile-expires-soon',
  'certificate-expired',
  'certificate-expires-soon',
  'app-store-signed',
  'simulator-build',
  'unsigned',
])
/** Facts about the build that do not stop an install. */
const NOT_INSTALL_PROBLEMS = new Set(['icon-missing', 'extension-unreadable'])

/** Runs `judge` with what the ingest code read from the .ipa, or skips saying why there is nothing. */
function withBuild(evidence: Evidence, judge: (info: IpaInfo) => CheckOutcome): CheckOutcome {
  const inspection = evidence.ipa?.inspection
  if (!inspection) return skip(evidence.manifest?.facts ? 'the .ipa was not fetched (see ipa-unreachable)' : 'there is no .ipa to read')
  if (inspection.state === 'not-read') return skip(`the .ipa was not read: ${inspection.reason}`)
  if (inspection.state === 'failed') return skip(`the .ipa could not be read: ${inspection.message}`)
  return judge(inspection.info)
}

function problem(info: IpaInfo, code: string) {
  return info.problems.find((p) => p.code === code)
}

/** Matrix rows 15–23: what installd refuses once the .ipa is on the device, from the real ingest code. */
export const buildChecks: CheckDefinition[] = [
  {
    id: 'bundle-id-mismatch',
    title: "the manifest's bundle-identifier is the app's",
    severity: 'error',
    symptom: 'The download completes, then the install fails (iOS 8+ compares the manifest with the app).',
    fix: 'Write the manifest from the .ipa itself (CFBundleIdentifier), never from CI parameters.',
    run(evidence) {
      const declared = evidence.manifest?.facts?.bundleId
      if (!declared) return skip(evidence.manifest?.facts ? 'the manifest has no bundle-identifier (see manifest-invalid)' : 'there is no manifest to compare with')
      return withBuild(evidence, (info) =>
        declared === info.bundleId
          ? pass(`both are ${declared}`)
          : fail(`the manifest says "${declared}", the app's Info.plist says "${info.bundleId}"`, { manifest: declared, app: info.bundleId }),
      )
    },
  },
  {
    id: 'version-mismatch',
    title: "the manifest's bundle-version is the app's",
    severity: 'warning',
    symptom: 'Testers see one version in the prompt and get another (iOS does not enforce it; a stale manifest usually is the cause).',
    fix: 'Write bundle-version from the .ipa (CFBundleShortVersionString or CFBundleVersion) and regenerate the manifest with every build.',
    run(evidence) {
      const facts = evidence.manifest?.facts
      if (!facts) return skip('there is no manifest to compare with')
      const declared = facts.bundleVersion
      return withBuild(evidence, (info) => {
        if (declared === null) return pass('the manifest has no bundle-version (optional)')
        if (declared === info.version || declared === info.build) return pass(`${declared}`)
        return warn(`the manifest says "${declared}", the app is ${info.version ?? '?'} (${info.build ?? '?'})`, { manifest: declared, version: info.version, build: info.build })
      })
    },
  },
  {
    id: 'app-store-signed',
    title: 'the build is not signed for App Store distribution',
    severity: 'error',
    symptom: INSTALL_SYMPTOM,
    fix: 'Export the archive with the Ad Hoc, Enterprise or Development method: App Store builds install only through TestFlight or the App Store.',
    run: (evidence) =>
      withBuild(evidence, (info) => {
        if (!info.profile) return skip('the build is unsigned (see unsigned)')
        const found = problem(info, 'app-store-signed')
        return found ? fail(found.message, { profile: info.profile.name, kind: info.profile.kind }) : pass(`signed ${info.profile.kind}`)
      }),
  },
  {
    id: 'simulator-build',
    title: 'the build is for devices, not the Simulator',
    severity: 'error',
    symptom: INSTALL_SYMPTOM,
    fix: 'Archive for "Any iOS Device (arm64)" and export an iphoneos .ipa.',
    run: (evidence) =>
      withBuild(evidence, (info) => (info.platform === 'iphonesimulator' ? fail(problem(info, 'simulator-build')?.message ?? 'a Simulator build') : pass('built for iphoneos'))),
  },
  {
    id: 'unsigned',
    title: 'the build carries a provisioning profile',
    severity: 'error',
    symptom: INSTALL_SYMPTOM,
    fix: 'Sign the app for distribution (Xcode: Product › Archive › Distribute App › Ad Hoc / Enterprise / Development) so embedded.mobileprovision is inside.',
    run: (evidence) =>
      withBuild(evidence, (info) => (info.profile ? pass(`profile "${info.profile.name ?? info.profile.uuid}"`) : fail(problem(info, 'unsigned')?.message ?? 'no embedded.mobileprovision'))),
  },
  {
    id: 'profile-expired',
    title: 'the provisioning profile has not expired',
    severity: 'error',
    symptom: INSTALL_SYMPTOM,
    fix: 'Regenerate the provisioning profile in the Apple Developer portal, re-sign the app and publish it again.',
    run: (evidence) =>
      withBuild(evidence, (info) => {
        if (!info.profile) return skip('the build is unsigned (see unsigned)')
        const found = problem(info, 'profile-expired')
        if (found) return fail(found.message, { expiresAt: info.profile.expiresAt, now: evidence.now.toISOString() })
        return info.profile.expiresAt ? pass(`valid until ${info.profile.expiresAt.slice(0, 10)}`, { expiresAt: info.profile.expiresAt }) : warn('the profile has no ExpirationDate')
      }),
  },
  {
    id: 'profile-expires-soon',
    title: 'the provisioning profile does not expire within 14 days',
    severity: 'warning',
    symptom: 'It installs today; within days the app stops launching and new installs fail.',
    fix: 'Regenerate the profile and re-sign before it expires.',
    run: (evidence) =>
      withBuild(evidence, (info) => {
        if (!info.profile?.expiresAt) return skip(info.profile ? 'the profile has no ExpirationDate' : 'the build is unsigned (see unsigned)')
        if (problem(info, 'profile-expired')) return skip('the profile has already expired (see profile-expired)')
        const found = problem(info, 'profile-expires-soon')
        return found ? warn(found.message, { expiresAt: info.profile.expiresAt }) : pass(`expires ${info.profile.expiresAt.slice(0, 10)}`)
      }),
  },
  {
    id: 'certificate-expired',
    title: 'the certificate that signed the executable is valid',
    severity: 'error',
    symptom: 'The install fails, or an installed app crashes at launch (enterprise revocations kill installed apps).',
    fix: 'Create a new distribution certificate and profile, re-sign the app and publish it again.',
    run: (evidence) =>
      withBuild(evidence, (info) => {
        const inspection = evidence.ipa?.inspection
        if (inspection?.state === 'read' && !inspection.signatureRead) return skip(inspection.note ?? 'the code signature was not read')
        const certificate = info.signingCertificate
        if (!certificate) return skip('no code-signature certificate could be read from the executable')
        const details = { subject: certificate.subject, notAfter: certificate.notAfter, sha1: certificate.sha1 }
        const expired = problem(info, 'certificate-expired')
        if (expired) return fail(expired.message, details)
        const soon = problem(info, 'certificate-expires-soon')
        if (soon) return warn(soon.message, details)
        return pass(`"${certificate.subject}" valid until ${certificate.notAfter.slice(0, 10)}`, details)
      }),
  },
  {
    id: 'device-not-provisioned',
    title: 'the device is in the provisioning profile',
    severity: 'error',
    symptom: '"Unable to Install … could not be installed at this time" on that device only.',
    fix: 'Register the device\'s UDID in the Apple Developer portal, regenerate the ad hoc/development profile with it, re-sign and publish again.',
    run(evidence) {
      const udid = evidence.udid
      if (!udid) return skip('pass --udid <UDID> to check a device against the profile')
      return withBuild(evidence, (info) => {
        const profile = info.profile
        if (!profile) return skip('the build is unsigned (see unsigned)')
        if (profile.kind === 'app-store') return skip('App Store builds install on no device over the air (see app-store-signed)')
        if (profile.kind === 'enterprise' || profile.provisionsAllDevices) return pass(`${profile.kind} profile: every device may install it`)
        const details = { udid, deviceCount: profile.provisionedDevices.length, kind: profile.kind }
        if (profileListsUdid(profile.provisionedDevices, udid)) return pass(`${udid} is one of the profile's ${profile.provisionedDevices.length} devices`, details)
        return fail(`${udid} is not among the ${profile.provisionedDevices.length} devices of the ${profile.kind} profile "${profile.name ?? profile.uuid}"`, details)
      })
    },
  },
  {
    id: 'ios-version-too-old',
    title: "the device's iOS meets the app's MinimumOSVersion",
    severity: 'error',
    symptom: '"Unable to Install" on that device (its iOS is older than the app requires).',
    fix: "Lower the deployment target (MinimumOSVersion) and rebuild, or tell the tester which iOS the app needs; show it on the install page.",
    run(evidence) {
      return withBuild(evidence, (info) => {
        const minimum = info.minimumOSVersion
        if (!evidence.iosVersion) return skip(`pass --ios <version> to check a device (the app needs iOS ${minimum ?? '(not declared)'})`)
        if (!minimum) return pass('the app declares no MinimumOSVersion')
        const details = { minimumOSVersion: minimum, device: evidence.iosVersion }
        return compareVersions(evidence.iosVersion, minimum) < 0
          ? fail(`the app needs iOS ${minimum}; the device runs ${evidence.iosVersion}`, details)
          : pass(`iOS ${evidence.iosVersion} ≥ ${minimum}`, details)
      })
    },
  },
  {
    id: 'build-problems',
    title: 'no other signing problem',
    severity: 'error',
    symptom: INSTALL_SYMPTOM,
    fix: 'Re-sign the app with a certificate listed in its profile, a profile whose App ID covers the bundle id, and matching profiles in every extension.',
    run: (evidence) =>
      withBuild(evidence, (info) => {
        const others = info.problems.filter((p) => !OWN_CHECKS.has(p.code) && !NOT_INSTALL_PROBLEMS.has(p.code) && p.severity !== 'info')
        const details = { problems: others }
        const errors = others.filter((p) => p.severity === 'error')
        if (errors.length > 0) return fail(errors.map((p) => `${p.code}: ${p.message}`).join('; '), details)
        if (others.length > 0) return warn(others.map((p) => `${p.code}: ${p.message}`).join('; '), details)
        return pass('none found')
      }),
  },
]

/** "17.5" vs "17.10.1": numeric, component by component (missing components are 0). */
function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0 && !Number.isNaN(difference)) return difference
  }
  return 0
}
