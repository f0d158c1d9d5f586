import { AirstripError, isAirstripError } from '../errors.ts'
import { openArchive } from '../ipa/archive.ts'
import { LayoutScanner } from '../ipa/bundle-layout.ts'
import { readAppInfo } from '../ipa/info-plist.ts'
import { LIMITS } from '../ipa/limits.ts'
import { parsePlistDict } from '../ipa/plist.ts'
import { evaluateProblems } from '../ipa/problems.ts'
import { parseProvisioningProfile } from '../ipa/profile.ts'
import type { RandomAccessSource } from '../ipa/source.ts'
import type { IpaInfo } from '../ipa/types.ts'

/**
 * The fallback when `inspectSource` cannot finish within doctor's fetch budget: an app whose
 * executable is too large to stream for its code signature. Same ingest modules (archive, layout,
 * Info.plist, profile, problems), minus the signature, icon and extensions, so the profile checks
 * still run. Duplicates the top of `inspectSource`'s flow because `src/ipa` offers no
 * metadata-only entry point; keep the two in step.
 */
export async function readIpaMetadata(source: RandomAccessSource, now: Date): Promise<IpaInfo> {
  const scanner = new LayoutScanner()
  const archive = await openArchive(source, scanner.keep)
  const appPath = scanner.appPath((path) => archive.entries.has(`${path}Info.plist`))
  const plistEntry = archive.entries.get(`${appPath}Info.plist`)
  if (!plistEntry) throw new AirstripError('no-info-plist', `${appPath} has no Info.plist`)
  const infoBytes = await archive.readEntry(plistEntry, LIMITS.plistBytes)
  let app
  try {
    app = readAppInfo(parsePlistDict(infoBytes, plistEntry.name), plistEntry.name)
  } catch (error) {
    if (isAirstripError(error, 'invalid-plist')) throw new AirstripError('invalid-info-plist', error.message, { cause: error })
    throw error
  }
  const profileEntry = archive.entries.get(`${appPath}embedded.mobileprovision`)
  let profile = null
  if (profileEntry) {
    try {
      profile = parseProvisioningProfile(await archive.readEntry(profileEntry, LIMITS.plistBytes))
    } catch (error) {
      if (isAirstripError(error) && error.code !== 'remote-read-failed' && error.code !== 'remote-read-limit') {
        throw new AirstripError('invalid-profile', `${profileEntry.name}: ${error.message}`, { cause: error })
      }
      throw error
    }
  }
  const build: Omit<IpaInfo, 'problems'> = {
    bundleId: app.bundleId,
    version: app.version,
    build: app.build,
    name: app.displayName ?? app.bundleName ?? app.executable ?? appPath.slice('Payload/'.length, -'.app/'.length),
    minimumOSVersion: app.minimumOSVersion,
    deviceFamily: app.deviceFamily,
    platform: app.platform,
    executable: app.executable,
    appPath,
    size: source.size,
    sha256: null,
    sdk: app.sdk,
    requiredDeviceCapabilities: app.requiredDeviceCapabilities,
    profile,
    signingCertificate: null,
    icon: null,
    extensions: [],
  }
  return { ...build, problems: evaluateProblems(build, now) }
}
