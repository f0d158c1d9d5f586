import type { PublicUrls } from '../ota/public-urls.ts'

/** The enrolment URLs, built like every other absolute URL: from the configured public URL only. */
export interface EnrollmentUrls {
  /** The anonymous enrolment page. */
  page(): string
  /** A personal enrolment page (invite secret in the path). */
  invitePage(inviteToken: string): string
  /** The Profile Service `.mobileconfig` for one page visit. */
  profile(sessionToken: string): string
  /** Where the device POSTs its signed answer (the installer sends no cookies: the token is the session). */
  callback(callbackToken: string): string
  /** The page Safari opens after the device's answer (the 301 target). */
  result(resultToken: string): string
}

const TOKEN = /^[A-Za-z0-9._-]{1,600}$/

/**
 * Enrolment URLs under `<public URL>/enroll`. Tokens are checked, not encoded (they are
 * base64url), as `createPublicUrls` does for the install links.
 */
export function createEnrollmentUrls(urls: PublicUrls): EnrollmentUrls {
  const base = `${urls.origin}${urls.basePath}/enroll`
  const token = (value: string): string => {
    if (!TOKEN.test(value) || value === '.' || value === '..') throw new Error(`enrolment token is not path-safe: ${JSON.stringify(value)}`)
    return value
  }
  return {
    page: () => base,
    invitePage: (inviteToken) => `${base}/${token(inviteToken)}`,
    profile: (sessionToken) => `${base}/${token(sessionToken)}/profile.mobileconfig`,
    callback: (callbackToken) => `${base}/${token(callbackToken)}/device`,
    result: (resultToken) => `${base}/${token(resultToken)}/done`,
  }
}
