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
  'missing-file': 'the request carries no .ipa file',
  'unauthorized': 'a valid API token is required (Authorization: Bearer <token>)',
  'build-not-found': 'no such build',
  'app-not-found': 'no such app',
  'not-found': 'not found',
  'bad-request': 'the request is malformed',
  'unsupported-media-type': 'send the .ipa as multipart/form-data (field "file") or application/octet-stream',
  // Signed URLs (manifest, .ipa, icons, enrolment)
  'token-invalid': 'the link is invalid',
  'token-expired': 'the link has expired; open the install page again for a fresh one',
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
