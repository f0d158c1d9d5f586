/** What `inspectIpa` reads out of an .ipa: the model everything Airstrip serves is derived from. */

export type PlistValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | Uint8Array
  | PlistValue[]
  | { [key: string]: PlistValue }
  | null

export type PlistDict = { [key: string]: PlistValue }

export const DEVICE_FAMILIES = { 1: 'iphone', 2: 'ipad', 3: 'tv', 4: 'watch', 6: 'mac', 7: 'vision' } as const
export type DeviceFamily = (typeof DEVICE_FAMILIES)[keyof typeof DEVICE_FAMILIES]

export const PROFILE_KINDS = ['development', 'ad-hoc', 'enterprise', 'app-store'] as const
export type ProfileKind = (typeof PROFILE_KINDS)[number]

/** A certificate, summarised: enough to show, compare and warn about expiry. */
export interface CertificateSummary {
  /** Subject common name, e.g. "Apple Distribution: Example Inc (ABCDE12345)". */
  subject: string
  /** Organizational unit of the subject: Apple puts the team id there. */
  teamId: string | null
  /** Hex, upper case. */
  serialNumber: string
  notBefore: string
  notAfter: string
  /** SHA-1 fingerprint of the DER, hex upper case without separators (as Keychain shows it). */
  sha1: string
}

/** Where a provisioning profile came from: CMS-signed (normal), or a bare plist (fallback). */
export type ProfileEncoding = 'cms' | 'xml-plist' | 'binary-plist'

export interface ProvisioningProfile {
  kind: ProfileKind
  encoding: ProfileEncoding
  name: string | null
  uuid: string | null
  teamId: string | null
  teamName: string | null
  appIdName: string | null
  /** application-identifier (iOS) or com.apple.application-identifier (macOS), e.g. "ABCDE12345.com.example.*". */
  applicationIdentifier: string | null
  createdAt: string | null
  expiresAt: string | null
  provisionedDevices: string[]
  provisionsAllDevices: boolean
  platforms: string[]
  entitlements: Record<string, unknown>
  /** DeveloperCertificates: the certificates allowed to sign apps with this profile. */
  certificates: CertificateSummary[]
  /** Subjects of the certificates that signed the CMS envelope (Apple's profile-signing chain). */
  signers: string[]
}

export interface IconInfo {
  width: number
  height: number
  /** True when the file was Apple's CgBI "crushed" PNG and had to be converted. */
  wasCgbi: boolean
  /** Path of the icon inside the archive. */
  sourcePath: string
}

export interface ExtensionInfo {
  /** "app-extension" for PlugIns/*.appex (and Extensions/*.appex), "watch-app" for Watch/*.app. */
  type: 'app-extension' | 'watch-app'
  path: string
  bundleId: string | null
  name: string | null
  version: string | null
  build: string | null
  profile: { kind: ProfileKind; applicationIdentifier: string | null; expiresAt: string | null } | null
}

export type ProblemSeverity = 'error' | 'warning' | 'info'

export interface Problem {
  code: string
  severity: ProblemSeverity
  message: string
}

export interface IpaInfo {
  bundleId: string
  version: string | null
  build: string | null
  name: string
  minimumOSVersion: string | null
  deviceFamily: DeviceFamily[]
  platform: 'iphoneos' | 'iphonesimulator'
  executable: string | null
  /** Path of the .app folder inside the archive, e.g. "Payload/Example.app/". */
  appPath: string
  /** Size of the .ipa in bytes. */
  size: number
  /** SHA-256 of the whole .ipa, hex; null when the caller asked not to hash. */
  sha256: string | null
  /** Other Info.plist facts worth showing. */
  sdk: string | null
  requiredDeviceCapabilities: string[]
  profile: ProvisioningProfile | null
  signingCertificate: CertificateSummary | null
  icon: IconInfo | null
  extensions: ExtensionInfo[]
  problems: Problem[]
}
