/** The first-party cookie that lets install pages recognise this device in Safari (set by the enrolment result page). */
export const DEVICE_COOKIE = 'airstrip_device'
export const DEVICE_COOKIE_TTL_SECONDS = 365 * 24 * 60 * 60

/**
 * The Set-Cookie value for the device cookie: first-party, HttpOnly (only the server reads it),
 * SameSite=Lax (sent when a tester follows a link to an install page), Secure over https, scoped
 * to Airstrip's path.
 */
export function deviceCookieHeader(value: string, options: { secure: boolean; path: string }): string {
  return `${DEVICE_COOKIE}=${value}; Path=${options.path || '/'}; Max-Age=${DEVICE_COOKIE_TTL_SECONDS}; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`
}

/**
 * One cookie's value from a Cookie header. Hand-written: a single name, whose values Airstrip
 * makes itself (token characters only), so a general cookie parser would add nothing.
 */
export function readCookie(header: string | undefined, name: string): string | null {
  if (typeof header !== 'string' || header.length > 8192) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim()
      return /^[A-Za-z0-9._-]{1,600}$/.test(value) ? value : null
    }
  }
  return null
}
