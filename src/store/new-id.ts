import { randomBytes } from 'node:crypto'

/**
 * A fresh public id: 16 random bytes as base64url (22 characters). Unguessable, so an id in a
 * URL reveals nothing about other records, and URL-safe without escaping. Never starting with `-`:
 * one id in 64 did, and a command line took it for an option (`airstrip webhooks remove -Xy…`).
 */
export function newId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (id[0] !== '-') return id
  }
}

/** True for strings shaped like `newId()` output; lets lookups skip the database for garbage input. */
export function isId(value: string): boolean {
  return /^[A-Za-z0-9_-]{22}$/.test(value)
}
