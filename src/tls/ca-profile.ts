import { X509Certificate, createHash } from 'node:crypto'
import { build } from 'plist'
import { AirstripError } from '../errors.ts'

/** Namespace for the name-based (v5) UUIDs below; fixed forever so UUIDs stay stable across releases. */
const UUID_NAMESPACE = '95c74451-a60a-4a6f-b7c6-de9e6566c906'

/**
 * What the CA page tells a tester to do on the iPhone/iPad, in order. Installing the profile only
 * adds the root; iOS (10.3+) ignores a manually installed root for TLS until full trust is turned on.
 */
export const CA_TRUST_STEPS: string[] = [
  'Open this page in Safari on the device (other browsers and in-app browsers cannot install profiles) and tap “Download CA profile”, then “Allow”.',
  'Open Settings and tap “Profile Downloaded” near the top (or Settings › General › VPN & Device Management), then tap Install and enter the device passcode. A downloaded profile is discarded after about 8 minutes if it is not installed.',
  'Go to Settings › General › About › Certificate Trust Settings and turn on full trust for the Airstrip Development CA, then confirm with Continue.',
  'Come back to this page and install the build. To undo, remove the profile in Settings › General › VPN & Device Management.',
]

/** Inputs of `buildCaProfile`. */
export interface CaProfileOptions {
  /** DER of the development CA certificate (must be a CA: basicConstraints CA:TRUE). */
  caCertDer: Uint8Array
  /** Profile name shown in Settings, e.g. "Airstrip CA (build.lan)". */
  displayName: string
  /** Reverse-DNS profile identifier, e.g. "lan.build.airstrip.ca". Same identifier ⇒ iOS replaces. */
  identifier: string
}

/**
 * Builds the `.mobileconfig` (XML plist) that installs the development CA on a device: a
 * Configuration profile holding one `com.apple.security.root` payload whose PayloadContent is the
 * CA's DER. UUIDs are derived from the certificate, so downloading the profile twice replaces the
 * installed copy instead of adding a duplicate, and a new CA yields new UUIDs. Unsigned (Settings
 * will show it as "Not Verified"), which is expected for a development CA. The server sends it as
 * `application/x-apple-aspen-config`.
 */
export function buildCaProfile({ caCertDer, displayName, identifier }: CaProfileOptions): string {
  if (displayName.trim() === '') throw new AirstripError('bad-request', 'the CA profile needs a display name')
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(identifier)) {
    throw new AirstripError('bad-request', `the CA profile identifier must be reverse-DNS (got ${JSON.stringify(identifier)})`)
  }
  const der = Buffer.from(caCertDer.buffer, caCertDer.byteOffset, caCertDer.byteLength)
  let cert: X509Certificate
  try {
    cert = new X509Certificate(der)
  } catch (cause) {
    throw new AirstripError('bad-request', 'the CA certificate is not a readable X.509 certificate', { cause })
  }
  if (!cert.ca) throw new AirstripError('bad-request', 'the certificate for the CA profile is not a CA certificate')

  const fingerprint = createHash('sha256').update(der).digest('hex')
  const caName = commonName(cert) ?? 'Airstrip Development CA'
  const profile = {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: uuidV5(`airstrip-ca-profile:${fingerprint}`),
    PayloadDisplayName: displayName,
    PayloadOrganization: 'Airstrip',
    PayloadDescription:
      `Installs “${caName}” so this device trusts this Airstrip server's HTTPS certificate for test installs. ` +
      'After installing, turn on full trust for it in Settings › General › About › Certificate Trust Settings. ' +
      'Remove this profile to withdraw the trust.',
    PayloadRemovalDisallowed: false,
    PayloadContent: [
      {
        PayloadType: 'com.apple.security.root',
        PayloadVersion: 1,
        PayloadIdentifier: `${identifier}.root`,
        PayloadUUID: uuidV5(`airstrip-ca-root:${fingerprint}`),
        PayloadDisplayName: caName,
        PayloadDescription: 'Adds the Airstrip development certificate authority (root certificate).',
        PayloadCertificateFileName: 'airstrip-dev-ca.cer',
        PayloadContent: der,
      },
    ],
  }
  return build(profile)
}

/** RFC 4122 name-based UUID (version 5, SHA-1), upper-case as Apple writes PayloadUUIDs. */
function uuidV5(name: string): string {
  const namespace = Buffer.from(UUID_NAMESPACE.replaceAll('-', ''), 'hex')
  const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.toString('hex').toUpperCase()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function commonName(cert: X509Certificate): string | null {
  const line = cert.subject.split('\n').find((part) => part.startsWith('CN='))
  return line ? line.slice(3) : null
}
