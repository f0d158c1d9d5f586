import { randomUUID } from 'node:crypto'
import { build } from 'plist'

/**
 * What iOS is asked to send back. Only what registration needs (privacy): the UDID, the model
 * identifier, the OS build, the serial number and the name the owner gave the device.
 */
export const DEVICE_ATTRIBUTES = ['UDID', 'PRODUCT', 'VERSION', 'SERIAL', 'DEVICE_NAME'] as const

export interface ProfileServiceOptions {
  /** The https URL the device POSTs its signed answer to (a per-session token in its path). */
  callbackUrl: string
  /** Random, per session: the device echoes it back as CHALLENGE. */
  challenge: string
  /** Shown as the profile's name in Settings. */
  displayName: string
  organization: string
  /** Reverse-DNS identifier; iOS replaces an installed profile with the same identifier. */
  identifier: string
  description?: string
  /** Default: a fresh random UUID per profile. */
  uuid?: string
}

/**
 * Builds the Profile Service payload (Apple's "Over-the-Air Profile Delivery and Configuration"):
 * a standalone dictionary — not wrapped in a Configuration profile — whose PayloadContent asks the
 * device to POST the listed attributes, CMS-signed by its device identity, to `callbackUrl`. The
 * payload is consumed when installed, so nothing stays on the device. XML escaping is the plist
 * builder's, so display names with `<` or `&` cannot break the document.
 */
export function buildProfileServicePayload(options: ProfileServiceOptions): string {
  const callback = new URL(options.callbackUrl)
  // iOS 12+ refuses a plain-http callback; Airstrip serves plain HTTP only behind a TLS proxy.
  if (callback.protocol !== 'https:' && callback.protocol !== 'http:') throw new Error('the enrolment callback must be an http(s) URL')
  if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(options.identifier)) throw new Error(`the profile identifier must be reverse-DNS (got ${JSON.stringify(options.identifier)})`)
  return build({
    PayloadType: 'Profile Service',
    PayloadVersion: 1,
    PayloadIdentifier: options.identifier,
    PayloadUUID: options.uuid ?? randomUUID().toUpperCase(),
    PayloadDisplayName: options.displayName,
    PayloadOrganization: options.organization,
    PayloadDescription:
      options.description ??
      `Sends this device's identifier (UDID), model, iOS build, serial number and name to ${options.organization} once, so test builds can include it. Nothing stays installed.`,
    PayloadContent: {
      URL: callback.href,
      DeviceAttributes: [...DEVICE_ATTRIBUTES],
      Challenge: options.challenge,
    },
  })
}

/**
 * A reverse-DNS identifier for `host`: "ota.example.com" → "com.example.ota.airstrip.enroll".
 * IP literals and odd characters are reduced to what the identifier grammar allows.
 */
export function enrolmentProfileIdentifier(host: string): string {
  const labels = host
    .replace(/^\[|\]$/g, '')
    .split(/[.:]/)
    .map((label) => label.replace(/[^A-Za-z0-9-]/g, '-'))
    .filter((label) => label !== '')
    .reverse()
  return [...labels, 'airstrip', 'enroll'].join('.')
}
