import { AirstripError } from '../errors.ts'

/** The channel a build goes to when the upload names none; existing builds were moved into it. */
export const DEFAULT_CHANNEL = 'main'

/** Lower-case letters, digits, ".", "_" and "-", starting with a letter or digit: safe in paths and CLI output. */
const CHANNEL_NAME = /^[a-z0-9][a-z0-9._-]{0,39}$/

/**
 * A channel name as given by an upload, the API or the CLI ("beta", "nightly", "release-2.x"), checked
 * and lower-cased; anything else is a `bad-request` naming the rule. Names appear in URLs, so only
 * path-safe characters.
 *
 * @example parseChannelName(' Beta ') // 'beta'
 */
export function parseChannelName(value: string): string {
  const name = value.trim().toLowerCase()
  if (!CHANNEL_NAME.test(name)) {
    throw new AirstripError('bad-request', `channel ${JSON.stringify(value.slice(0, 60))} is not a valid name: 1–40 of a-z, 0-9, ".", "_", "-", starting with a letter or digit`)
  }
  return name
}

/** True for strings `parseChannelName` returns unchanged (a quick filter for path parameters). */
export function isChannelName(value: string): boolean {
  return CHANNEL_NAME.test(value)
}
