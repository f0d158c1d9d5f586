import { AirstripError } from '../errors.ts'

/** Where a page of builds ended: the last row's sort key (created_at, id). */
export interface BuildCursor {
  createdAt: string
  id: string
}

/** Encodes a cursor as opaque base64url, so clients treat it as a token, not a format. */
export function encodeBuildCursor(cursor: BuildCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url')
}

/** Decodes a cursor that came back from a client; anything we did not produce is a `bad-request`. */
export function decodeBuildCursor(text: string): BuildCursor {
  const invalid = () => new AirstripError('bad-request', 'the cursor is invalid; pass back a nextCursor unchanged')
  if (text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid()
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid()
  const [createdAt, id] = value as unknown[]
  if (typeof createdAt !== 'string' || typeof id !== 'string') throw invalid()
  return { createdAt, id }
}
