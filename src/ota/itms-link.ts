const PREFIX = 'itms-services://?action=download-manifest&url='
/** Printable ASCII without space: what a URL may literally contain once iOS has decoded it. */
const URL_CHARACTERS = /^[\x21-\x7e]+$/

/**
 * The `itms-services://` link that makes iOS fetch a manifest and offer to install the app.
 *
 * Returned as a plain string with a real `&`: `&amp;` belongs only in HTML attribute source, and
 * templates escape it there. A literal `&amp;` in a QR payload, JSON, an email or `location.href`
 * makes the link do nothing (fastlane#743, fastlane-plugin-s3 PR#12/#13).
 *
 * The whole manifest URL goes through `encodeURIComponent`: iOS percent-decodes the `url` value
 * once and then parses it as a URL, so an unencoded `&` or `?` in the manifest URL would be read as
 * another itms-services parameter. For the same reason the manifest URL must already be a valid URL
 * string (spaces written `%20`, which arrive as `%2520`): a literal space or non-ASCII character
 * would reach iOS decoded and the link would be dropped silently, so it is refused here.
 *
 * The manifest must be served over https (iOS 7.1+ refuses anything else with "Cannot connect");
 * `allowHttp` exists only for local development, where the install will not work on a device.
 * Violations are programming errors and throw a plain Error.
 */
export function itmsServicesUrl(manifestUrl: string, options: { allowHttp?: boolean } = {}): string {
  if (!URL_CHARACTERS.test(manifestUrl)) {
    throw new Error('manifest URL must be percent-encoded printable ASCII (no spaces, no Unicode)')
  }
  let parsed: URL
  try {
    parsed = new URL(manifestUrl)
  } catch {
    throw new Error(`manifest URL is not an absolute URL: ${manifestUrl}`)
  }
  const allowed = options.allowHttp === true ? ['https:', 'http:'] : ['https:']
  if (!allowed.includes(parsed.protocol)) {
    throw new Error(`manifest URL must be https${options.allowHttp ? ' or http' : ''}: ${manifestUrl}`)
  }
  if (!parsed.hostname) throw new Error(`manifest URL has no host: ${manifestUrl}`)
  // Credentials in the URL are not sent by appstored reliably, and basic auth re-prompts per asset.
  if (parsed.username || parsed.password) throw new Error('manifest URL must not contain credentials')
  return PREFIX + encodeURIComponent(manifestUrl)
}
