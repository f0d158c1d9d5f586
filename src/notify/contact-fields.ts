import { AirstripError } from '../errors.ts'

/**
 * Checks and normalises what identifies a tester. Deliberately loose on e-mail (one @, a dotted
 * domain, no spaces or angle brackets): the mail server is the real judge, and a stricter regex
 * refuses real addresses. What it must stop is header injection (CR/LF, `<`, `>`, `,`), which
 * nodemailer would also refuse, but later and with a worse message.
 */

const EMAIL = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+\.[^\s@<>,;:"()[\]\\]+$/
const E164 = /^\+[1-9]\d{6,14}$/

/** `Jane.Doe@Example.com ` → `jane.doe@example.com`; anything else throws `bad-request`. */
export function normalizeEmail(value: string): string {
  const email = value.trim().toLowerCase()
  if (email.length > 254 || !EMAIL.test(email)) throw new AirstripError('bad-request', `not an e-mail address: ${JSON.stringify(value.slice(0, 100))}`)
  return email
}

/**
 * `+44 (20) 7946-0958` → `+442079460958` (E.164, what SMS providers take). Spaces, dots,
 * dashes and parentheses are dropped; a number without its leading + and country code throws.
 */
export function normalizePhone(value: string): string {
  const phone = value.trim().replace(/[\s().-]/g, '')
  if (!E164.test(phone)) throw new AirstripError('bad-request', `not a phone number in international form (+ and country code): ${JSON.stringify(value.slice(0, 40))}`)
  return phone
}

/** A display name: 1 to 200 characters after trimming, no control characters. */
export function normalizeName(value: string, what = 'name'): string {
  const name = value.trim()
  // Control characters (CR/LF would end a mail header) have no place in a name.
  if (name === '' || name.length > 200 || /\p{Cc}/u.test(name)) throw new AirstripError('bad-request', `a ${what} must be 1 to 200 characters without control characters`)
  return name
}
