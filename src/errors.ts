/**
 * One error type with a stable `code` for everything Airstrip refuses.
 *
 * The core (ipa/, ota/, doctor/, devices/) throws `AirstripError`s and never mentions HTTP
 * statuses or exit codes: the CLI maps codes to exit status and one stderr line, the server maps
 * them to an HTTP status and `{ error, message }`. Tests assert on `code`, which stays stable when
 * the wording changes.
 */

/** Every code Airstrip can raise, with the default message used when none is given. */
export const ERROR_CODES = {
  // Reading an .ipa (input that is not a usable IPA)
  'not-a-zip': 'the file is not a ZIP archive',
  'archive-corrupt': 'the archive is damaged (truncated, bad offsets or checksum)',
  'unsafe-entry-name': 'the archive contains an entry name that escapes its folder',
  'no-app-bundle': 'no Payload/<name>.app/ folder at the root of the archive',
  'no-info-plist': 'the app bundle has no Info.plist',
  'invalid-info-plist': 'Info.plist is unreadable or lacks required keys',
  'entry-too-large': 'an archive entry is larger than Airstrip accepts',
  'too-many-entries': 'the archive has more entries than Airstrip accepts',
  'invalid-plist': 'the property list is malformed',
  'invalid-profile': 'the provisioning profile is not readable',
  'invalid-png': 'the image is not a readable PNG',
  'file-not-found': 'the file does not exist or cannot be read',
  // Server and API
  'upload-too-large': 'the upload is larger than this server accepts',
  'upload-aborted': 'the upload was interrupted before it completed',
  'insufficient-storage': 'the server has no space left to store this upload; nothing was kept (free disk space in the data dir, or raise the volume size)',
  'missing-file': 'the request carries no .ipa file',
  'unauthorized': 'a valid API token is required (Authorization: Bearer <token>)',
  'build-not-found': 'no such build',
  'app-not-found': 'no such app',
  'not-found': 'not found',
  'bad-request': 'the request is malformed',
  'release-notes-too-long': 'the release notes are longer than this server accepts (20000 characters)',
  'invalid-release-notes': 'the release notes contain characters that are not text (NUL or other control characters, or broken Unicode)',
  'unsupported-media-type': 'send the .ipa as multipart/form-data (field "file") or application/octet-stream',
  // Idempotency-Key on uploads (src/server/upload-idempotency.ts)
  'idempotency-key-invalid': 'the Idempotency-Key header must be 1 to 255 printable ASCII characters',
  'idempotency-key-reused': 'this Idempotency-Key was already used for an upload of a different file; use a new key for a new upload',
  'idempotency-key-in-progress': 'an upload with this Idempotency-Key is still in progress; retry in a moment',
  // Signed URLs (manifest, .ipa, icons, enrolment)
  'token-invalid': 'the link is invalid',
  'token-expired': 'the link has expired; open the install page again for a fresh one',
  // Diagnosing a deployment (`airstrip doctor`): reading a remote .ipa over HTTP Range requests
  'remote-read-failed': 'the remote file could not be read (network failure, or an answer that breaks HTTP rules)',
  'remote-read-limit': 'reading the remote file hit a size or time limit',
  'usage-error': 'the command line is not valid',
  // Devices (UDID enrolment, device list, App Store Connect)
  'invalid-device-response': 'the device response is not a CMS-signed plist with a UDID',
  'invalid-udid': 'not a device UDID (40 hex characters, or 8 + 16 hex separated by "-")',
  'device-signature-invalid': 'the device response is not signed by a device certificate from the configured device CA',
  'challenge-mismatch': 'the device answered with a challenge this enrolment did not issue',
  'enrollment-expired': 'this enrolment has expired; open the enrolment page again',
  'enrollment-used': 'this enrolment has already been completed; open the enrolment page again to enrol another device',
  'invite-not-found': 'no such enrolment link (it may have been revoked)',
  'device-not-found': 'no such device',
  'app-store-connect-not-configured': 'App Store Connect is not configured (--asc-issuer-id, --asc-key-id, --asc-key)',
  'app-store-connect-failed': 'App Store Connect did not answer as expected',
  // Delivery from the command line (`airstrip upload`, `airstrip export`): client side, no HTTP status
  'upload-refused': 'the server refused the upload',
  'upload-failed': 'the upload did not complete (network or server failure)',
  'invalid-base-url': 'the base URL must be an absolute https:// URL without query, fragment or credentials',
  'output-not-empty': 'the output folder exists and is not empty (pass --force to replace it)',
  // Notifications (testers, groups, webhooks, deliveries)
  'tester-not-found': 'no such tester',
  'tester-exists': 'a tester with this e-mail address already exists',
  'group-not-found': 'no such group',
  'group-exists': 'a group with this name already exists',
  'webhook-not-found': 'no such webhook',
  'webhook-url-refused': 'the webhook URL is not allowed (http(s) only; private and loopback addresses need --webhook-allow-private-networks)',
  'delivery-not-found': 'no such delivery',
  // Channels, access to install, retention (src/access, src/channels)
  'channel-not-found': 'no such channel',
  'channel-not-empty': 'the channel still has builds',
  'access-denied': 'you do not have access to this build',
  'access-revoked': 'this link has been revoked; ask for a new one',
  'grant-not-found': 'no such invite or access grant',
  // Accounts and the admin UI (sign-in, sessions, roles, CSRF, API token scopes)
  forbidden: 'your role (or this API token) does not allow this',
  'csrf-invalid': 'the form was not sent from this Airstrip page (missing or wrong CSRF token); reload the page and try again',
  'login-failed': 'wrong e-mail address or password',
  'too-many-attempts': 'too many failed sign-ins; wait a few minutes and try again',
  'setup-unavailable': 'first-run setup is closed (an admin exists) or the setup token is wrong',
  'user-not-found': 'no such user',
  'user-exists': 'a user with this e-mail address already exists',
  'last-admin': 'the server must keep at least one admin',
  // Backups (`airstrip backup`, `airstrip restore`): command line, no HTTP status
  'backup-corrupt': 'the backup archive is damaged or was altered (a size or hash does not match its manifest)',
  'backup-unsupported': 'this storage cannot be backed up by Airstrip (back up PostgreSQL and S3 with their own tools)',
  'data-dir-not-empty': 'the data dir exists and is not empty (stop the server; pass --force to move it aside and restore)',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class AirstripError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message ?? ERROR_CODES[code], options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AirstripError'
    this.code = code
    this.details = options?.details
  }
}

export function isAirstripError(error: unknown, code?: ErrorCode): error is AirstripError {
  return error instanceof AirstripError && (code === undefined || error.code === code)
}
