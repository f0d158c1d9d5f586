import { AirstripError } from '../errors.ts'

/** A parsed urlencoded form (@fastify/formbody): repeated names become arrays. */
export type FormBody = Record<string, string | string[] | undefined>

function asForm(body: unknown): FormBody {
  return body && typeof body === 'object' ? (body as FormBody) : {}
}

/**
 * One text field, trimmed; `bad-request` naming the field when it is repeated, too long or (with
 * `required`) empty. Forms are hostile input like any other body.
 */
export function formText(body: unknown, name: string, options: { max?: number; required?: boolean; trim?: boolean } = {}): string {
  const value = asForm(body)[name]
  if (Array.isArray(value)) throw new AirstripError('bad-request', `the field "${name}" is sent more than once`)
  const text = options.trim === false ? (value ?? '') : (value ?? '').trim()
  const max = options.max ?? 200
  if (text.length > max) throw new AirstripError('bad-request', `"${name}" has at most ${max} characters`)
  if (options.required && text === '') throw new AirstripError('bad-request', `"${name}" is required`)
  return text
}

/** Every value of a repeated field (checkboxes), each at most `max` characters. */
export function formList(body: unknown, name: string, max = 200): string[] {
  const value = asForm(body)[name]
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value]
  if (values.length > 1000 || values.some((item) => item.length > max)) throw new AirstripError('bad-request', `the field "${name}" is too long`)
  return values
}

/** A checkbox: present ("on", "1", "true") or not. */
export function formFlag(body: unknown, name: string): boolean {
  const value = asForm(body)[name]
  return typeof value === 'string' && ['on', '1', 'true', 'yes'].includes(value)
}

/** One of `choices`, else `bad-request`. */
export function formChoice<T extends string>(body: unknown, name: string, choices: readonly T[]): T {
  const value = formText(body, name)
  if (!(choices as readonly string[]).includes(value)) throw new AirstripError('bad-request', `"${name}" must be one of ${choices.join(', ')}`)
  return value as T
}
