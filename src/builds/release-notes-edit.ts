import { AirstripError } from '../errors.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { BuildRecord } from '../store/records.ts'

/** The most release notes may hold, in characters (UTF-16 code units, as counted at upload). */
export const RELEASE_NOTES_MAX = 20_000

/**
 * Control characters other than tab, LF and CR (C0, DEL, C1): nothing a person types into notes,
 * and a NUL truncates text in C-based tools reading the database or a mail.
 */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u

/**
 * Edited release notes as they are stored: line breaks normalised to LF (a browser's textarea
 * sends CRLF), surrounding blank space trimmed, empty → null (no notes). Refuses, before
 * anything is stored, text over RELEASE_NOTES_MAX (`release-notes-too-long`) and text that is not
 * text: control characters such as NUL, or lone UTF-16 surrogates (`invalid-release-notes`).
 * Markup needs no check here: notes are markdown rendered without raw HTML (src/web/release-notes.ts).
 *
 * @example parseReleaseNotes('- Fixed login\r\n- Faster sync\r\n') // '- Fixed login\n- Faster sync'
 */
export function parseReleaseNotes(input: string | null): string | null {
  if (input === null) return null
  if (!input.isWellFormed()) throw new AirstripError('invalid-release-notes', 'the release notes are not valid Unicode text (a lone surrogate)')
  const control = CONTROL.exec(input)
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
    throw new AirstripError('invalid-release-notes', `the release notes contain a control character (U+${code}) at character ${control.index + 1}; remove it`)
  }
  const notes = input.replace(/\r\n?/g, '\n').trim()
  if (notes.length > RELEASE_NOTES_MAX) {
    throw new AirstripError('release-notes-too-long', `the release notes are ${notes.length} characters; at most ${RELEASE_NOTES_MAX} are accepted`)
  }
  return notes === '' ? null : notes
}

/**
 * Replaces a build's release notes after upload: checked first (`parseReleaseNotes`), so a
 * refused edit leaves the old notes in place; `build-not-found` when there is no such build.
 * Nothing caches notes: pages render them per visit and manifests do not carry them.
 */
export async function editReleaseNotes(meta: Pick<MetaStore, 'updateReleaseNotes'>, buildId: string, input: string | null): Promise<BuildRecord> {
  const notes = parseReleaseNotes(input)
  const build = await meta.updateReleaseNotes(buildId, notes)
  if (!build) throw new AirstripError('build-not-found')
  return build
}
