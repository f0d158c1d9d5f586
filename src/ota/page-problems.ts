import { evaluateProblems } from '../ipa/problems.ts'
import type { IpaInfo, Problem } from '../ipa/types.ts'

/** A build problem as the install page shows it: the technical message plus one plain sentence. */
export interface PageProblem {
  code: string
  severity: 'error' | 'warning'
  /** The inspector's message (technical, for developers). */
  message: string
  /** What it means for the person holding the phone. */
  plain: string
}

/** Codes whose truth depends on the clock: never trusted from the upload-time evaluation. */
const TIME_DEPENDENT = new Set(['profile-expired', 'profile-expires-soon', 'certificate-expired', 'certificate-expires-soon', 'extension-profile-expired', 'profile-certificates-expired'])

const PLAIN: Record<string, string> = {
  'profile-expired': 'The provisioning profile has expired: installation will fail. Ask the developer for a new build.',
  'profile-expires-soon': 'The provisioning profile expires soon: after that the app will stop opening.',
  'certificate-expired': 'The signing certificate has expired: installation will fail and installed copies will not open.',
  'certificate-expires-soon': 'The signing certificate expires soon: after that the app will stop installing.',
  'certificate-not-in-profile': 'The app was signed with a certificate its profile does not allow: installation will fail.',
  'app-store-signed': 'This build is signed for the App Store: it cannot be installed from a link (use TestFlight, or ask for an Ad Hoc or Enterprise build).',
  'simulator-build': 'This is a Simulator build: it cannot be installed on an iPhone or iPad.',
  unsigned: 'This build is not signed for devices: it cannot be installed.',
  'bundle-id-not-in-profile': "The app's identifier is not covered by its provisioning profile: installation will fail.",
  'extension-profile-mismatch': 'Part of the app (an extension) is signed differently from the app: installation will fail.',
  'extension-profile-expired': "An extension's provisioning profile has expired: installation will fail.",
  'executable-missing': 'The app bundle is incomplete: installation will fail.',
  'free-team-profile': 'Signed with a free personal developer account: Apple does not allow installing such apps from a link.',
  'profile-not-signed': 'The provisioning profile is not signed by Apple: iOS will refuse to install the app.',
  'profile-not-signed-by-apple': 'The provisioning profile is not signed by Apple: iOS will refuse to install the app.',
  'icon-missing': 'No app icon was found: the Home Screen shows a blank icon while the app downloads.',
  'extension-unreadable': 'Part of the app could not be read; installation may fail.',
}

/**
 * The problems the install page shows, evaluated at `now` rather than at upload: a profile that
 * was "expiring soon" when CI uploaded the build may have expired since (and an expired profile
 * means "Unable to Install" on the device). Upload-time notes that do not depend on the clock
 * (missing icon, missing executable…) are kept as stored. Only errors and warnings are returned,
 * errors first.
 */
export function pageProblems(info: IpaInfo, uploadedAt: string, now: Date): PageProblem[] {
  const fresh = evaluateProblems(info, now)
  const uploadTime = new Date(uploadedAt)
  const superseded = new Set([...TIME_DEPENDENT, ...fresh.map((p) => p.code)])
  if (!Number.isNaN(uploadTime.getTime())) for (const p of evaluateProblems(info, uploadTime)) superseded.add(p.code)
  const notes = info.problems.filter((p) => !superseded.has(p.code))

  const seen = new Set<string>()
  const result: PageProblem[] = []
  for (const problem of [...fresh, ...notes]) {
    if (problem.severity === 'info') continue
    const key = `${problem.code}\n${problem.message}`
    if (seen.has(key)) continue
    seen.add(key)
    result.push({ code: problem.code, severity: problem.severity, message: problem.message, plain: plainLine(problem) })
  }
  return result.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
}

function plainLine(problem: Problem): string {
  const known = PLAIN[problem.code]
  if (known) return known
  const text = problem.message.charAt(0).toUpperCase() + problem.message.slice(1)
  return problem.severity === 'error' ? `${text} Installation will probably fail.` : text
}
