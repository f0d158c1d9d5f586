/**
 * Safe property-list parsing: XML and binary plists from untrusted archives.
 *
 * XML is read by a streaming SAX parser (saxes: strict well-formedness, DTDs never processed, no
 * external entities) feeding a small state machine that builds the values directly. A DOM costs
 * far more than the values it holds: @xmldom/xmldom (what `plist` uses) took 4–6.5 s and ~1 GiB
 * RSS for a 15 MiB plist inside the cap, on the main thread; saxes takes 0.3–0.8 s and a fifth of
 * the memory (bench/plist.ts compares both). `plist.parse`
 * is not used either: it throws on the invalid base64 that real profiles carry in <data>, rounds
 * integers beyond 2^53 and recurses without a depth limit. Binary plists go to `./binary-plist.ts`.
 */
import { SaxesParser } from 'saxes'
import { AirstripError } from '../errors.ts'
import { parseBinaryPlist } from './binary-plist.ts'
import { LIMITS } from './limits.ts'
import type { PlistDict, PlistValue } from './types.ts'

const INT128_LIMIT = 2n ** 128n
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/
const DECIMAL_INTEGER = /^[+-]?\d{1,40}$/
const HEX_INTEGER = /^[+-]?0x[0-9a-f]{1,32}$/i
const REAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i
const SPECIAL_REALS: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity }

/**
 * Parses an XML or binary (bplist00) property list. Malformed or hostile input (entity
 * declarations, cycles, excessive nesting, bad offsets) gives `invalid-plist` with a precise
 * message prefixed by `what`; input over `LIMITS.plistBytes` gives `entry-too-large`.
 */
export function parsePlist(bytes: Uint8Array, what = 'property list'): PlistValue {
  if (bytes.length > LIMITS.plistBytes) {
    throw new AirstripError('entry-too-large', `${what} is ${bytes.length} bytes, more than the ${LIMITS.plistBytes} allowed`)
  }
  if (bytes.length === 0) throw new AirstripError('invalid-plist', `${what} is empty`)
  if (startsWith(bytes, 'bplist')) return parseBinaryPlist(bytes, what)
  return parseXmlPlist(decodeText(bytes, what), what)
}

/** Same as `parsePlist`, for callers that need a dictionary at the top (Info.plist, profiles). */
export function parsePlistDict(bytes: Uint8Array, what = 'property list'): PlistDict {
  const value = parsePlist(bytes, what)
  if (!isPlistDict(value)) throw new AirstripError('invalid-plist', `${what}: top level is ${describe(value)}, not a dictionary`)
  return value
}

/** True for a plist dictionary (not an array, date, data or null), to narrow parsed values. */
export function isPlistDict(value: PlistValue | undefined): value is PlistDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array)
}

function describe(value: PlistValue): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Date) return 'a date'
  if (value instanceof Uint8Array) return 'data'
  return `a ${typeof value}`
}

function startsWith(bytes: Uint8Array, ascii: string): boolean {
  return bytes.length >= ascii.length && Buffer.from(bytes.subarray(0, ascii.length)).toString('latin1') === ascii
}

/** UTF-8 (Apple's encoding) with or without a BOM; UTF-16 only when a BOM says so. */
function decodeText(bytes: Uint8Array, what: string): string {
  let encoding = 'utf-8'
  let start = 0
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    start = 3
  } else if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) {
    encoding = bytes[0] === 0xfe ? 'utf-16be' : 'utf-16le'
    start = 2
  }
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start))
  } catch {
    throw new AirstripError('invalid-plist', `${what}: not valid ${encoding.toUpperCase()} text`)
  }
}

/**
 * Refuses a DOCTYPE with an internal subset and any entity declaration before parsing: that is
 * where XXE and billion-laughs attacks live, and Apple's plists only ever use the external
 * PUBLIC DTD reference (never fetched: saxes reads no DTD, and knows only XML's five entities).
 */
function refuseDtd(text: string, what: string): void {
  const doctype = text.search(/<!DOCTYPE/i)
  if (doctype !== -1) {
    let quote = ''
    for (let i = doctype + 9; i < text.length; i++) {
      const c = text[i]
      if (quote !== '') {
        if (c === quote) quote = ''
      } else if (c === '"' || c === "'") quote = c
      else if (c === '>') break
      else if (c === '[') throw new AirstripError('invalid-plist', `${what}: DOCTYPE with an internal subset is not allowed`)
    }
  }
  if (/<!ENTITY/i.test(text)) throw new AirstripError('invalid-plist', `${what}: entity declarations are not allowed`)
}

/** One open element: the root, a container being filled, or a leaf collecting its text. */
type Frame =
  | { kind: 'plist'; name: string; values: number }
  | { kind: 'dict'; name: string; dict: PlistDict; key: string | null }
  | { kind: 'array'; name: string; array: PlistValue[] }
  | { kind: 'leaf'; name: string; text: string }

const LEAF_VALUES = new Set(['string', 'integer', 'real', 'date', 'data', 'true', 'false', 'null'])

/** `<!DOCTYPE` content (saxes does not check it): a name and an optional SYSTEM or PUBLIC id. */
const DOCTYPE = /^\s+[:A-Z_a-z\u00c0-\ufffd][-.:\w\u00b7\u00c0-\ufffd]*(?:\s+SYSTEM\s+(?:"[^"]*"|'[^']*')|\s+PUBLIC\s+(?:"[-\s\w'()+,./:=?;!*#@$%]*"|'[-\s\w()+,./:=?;!*#@$%]*')\s+(?:"[^"]*"|'[^']*'))?\s*$/

/**
 * saxes over one whole document, tolerating one thing: characters outside XML's Char production
 * (C0 controls, U+FFFE/U+FFFF). Apple's writer (CFPropertyList) puts them in strings unescaped and
 * Apple's reader accepts them, as xmldom did; every other well-formedness error still stops the
 * parse. saxes reports a "<" inside an attribute value in the same words, hence the look at the
 * character just read. Overriding `fail` rather than ignoring the error in the handler avoids
 * building an Error per such character of a hostile input.
 */
class PlistXmlParser extends SaxesParser<{ xmlns: false }> {
  readonly #document: string

  constructor(document: string) {
    super({ xmlns: false })
    this.#document = document
  }

  override fail(message: string): this {
    if (message === 'disallowed character.' && this.#document[this.position - 1] !== '<') return this
    return super.fail(message)
  }
}

function parseXmlPlist(text: string, what: string): PlistValue {
  const fail = (message: string): AirstripError => new AirstripError('invalid-plist', `${what}: ${message}`)
  // Whitespace before the XML declaration is harmless, though saxes (per the spec) rejects it.
  text = text.replace(/^[ \t\r\n]+/, '')
  if (!text.startsWith('<')) throw fail('neither an XML nor a binary property list')
  refuseDtd(text, what)

  const stack: Frame[] = []
  /** What <plist> holds, once it is complete. */
  const top: PlistValue[] = []
  let produced = 0
  let ending = false
  // saxes calls the close-tag handler before it checks that the names match: a plist error found
  // there waits one event, so that "unexpected close tag" wins when the tags are mismatched.
  let deferred: { error: unknown } | null = null
  const checkDeferred = (): void => {
    if (deferred) throw deferred.error
  }

  function open(name: string): void {
    const parent = stack.at(-1)
    if (parent === undefined) {
      if (name !== 'plist') throw fail(`root element is ${tag(name)}, not <plist>`)
      stack.push({ kind: 'plist', name, values: 0 })
      return
    }
    if (parent.kind === 'leaf') throw fail(`unexpected ${tag(name)} inside <${parent.name}>`)
    if (parent.kind === 'plist' && ++parent.values > 1) throw fail('<plist> must hold exactly one value, found 2 or more')
    if (parent.kind === 'dict' && parent.key === null) {
      if (name !== 'key') throw fail(`<dict> expected <key>, found ${tag(name)}`)
      stack.push({ kind: 'leaf', name, text: '' })
      return
    }
    if (++produced > LIMITS.plistObjects) throw fail(`holds more than ${LIMITS.plistObjects} values`)
    if (name === 'dict' || name === 'array') {
      // Values directly inside <plist> are at depth 0.
      if (stack.length - 1 >= LIMITS.plistDepth) throw fail(`nested deeper than ${LIMITS.plistDepth} levels`)
      stack.push(name === 'dict' ? { kind: 'dict', name, dict: {}, key: null } : { kind: 'array', name, array: [] })
    } else if (LEAF_VALUES.has(name)) {
      stack.push({ kind: 'leaf', name, text: '' })
    } else {
      throw fail(`unknown element ${tag(name)}`)
    }
  }

  function close(): void {
    const frame = stack.pop()
    const parent = stack.at(-1)
    if (frame === undefined) return
    if (frame.kind === 'plist') {
      if (frame.values === 0) throw fail('<plist> must hold exactly one value, found 0')
      return
    }
    if (parent === undefined) return
    if (frame.kind === 'leaf' && frame.name === 'key' && parent.kind === 'dict') {
      if (frame.text === '__proto__') throw fail('the key "__proto__" is not allowed')
      parent.key = frame.text
      return
    }
    let value: PlistValue
    if (frame.kind === 'dict') {
      if (frame.key !== null) throw fail('<dict> has a key without a value')
      value = frame.dict
    } else if (frame.kind === 'array') {
      value = frame.array
    } else {
      value = leafValue(frame.name, frame.text, fail)
    }
    if (parent.kind === 'dict') {
      parent.dict[parent.key ?? ''] = value
      parent.key = null
    } else if (parent.kind === 'array') {
      parent.array.push(value)
    } else {
      top.push(value)
    }
  }

  function addText(chunk: string): void {
    checkDeferred()
    const frame = stack.at(-1)
    if (frame === undefined) return
    if (frame.kind === 'leaf') frame.text += chunk
    else if (chunk.trim() !== '') throw fail(`unexpected text inside <${frame.name}>`)
  }

  const parser = new PlistXmlParser(text)
  parser.on('doctype', (doctype) => {
    if (!DOCTYPE.test(doctype)) throw fail('malformed XML (DOCTYPE is not well-formed)')
  })
  parser.on('error', (error) => {
    throw fail(`malformed XML (${describeXmlError(error.message, text, ending ? stack : null)})`)
  })
  parser.on('opentag', (tag) => {
    checkDeferred()
    open(tag.name)
  })
  parser.on('closetag', () => {
    checkDeferred()
    try {
      close()
    } catch (error) {
      deferred = { error }
    }
  })
  parser.on('text', addText)
  parser.on('cdata', addText)
  parser.write(text)
  checkDeferred()
  ending = true
  parser.close()
  checkDeferred()
  if (top.length !== 1) throw fail(`<plist> must hold exactly one value, found ${top.length}`)
  return top[0]!
}

/**
 * saxes' message ("3:14: undefined entity.") as a sentence; at the end of input, in the words
 * xmldom used (the open elements listed outermost first). A bare "&" (which xmldom let through)
 * is named as such: saxes reads it as the start of an entity name running to the next ";" or to
 * the end of the input, so its own message points elsewhere.
 */
function describeXmlError(message: string, text: string, openAtEnd: Frame[] | null): string {
  const match = /^(\d+):(\d+): (.*?)\.?$/s.exec(message)
  const reason = match?.[3] ?? message
  if (/entity name/.test(reason) || (openAtEnd !== null && openAtEnd.length > 0)) {
    const bare = bareAmpersand(text)
    if (bare !== -1) {
      const line = text.slice(0, bare).split('\n').length
      const column = bare - text.lastIndexOf('\n', bare - 1)
      return `unescaped "&" at line ${line}, column ${column}: write &amp;`
    }
  }
  if (openAtEnd !== null) {
    if (reason === 'document must contain a root element') return 'missing root element'
    if (reason.startsWith('unclosed tag')) {
      const names = openAtEnd.map((frame) => frame.name.slice(0, 40))
      return `unclosed xml tag(s): ${(names.length > 8 ? [...names.slice(0, 4), '…', ...names.slice(-3)] : names).join(', ')}`
    }
    if (reason === 'unexpected end') return 'unexpected end of input'
  }
  const shown = reason.length > 200 ? `${reason.slice(0, 200)}…` : reason
  return match ? `${shown} at line ${match[1]}, column ${match[2]}` : shown
}

/** An element name for a message: hostile names can be megabytes long. */
function tag(name: string): string {
  return name.length > 40 ? `<${name.slice(0, 40)}…>` : `<${name}>`
}

const REFERENCE = /&(?:[A-Za-z_:][\w.:-]*|#\d+|#x[\da-fA-F]+);/y

/**
 * Index of the first "&" that starts no reference, outside markup where "&" is plain text
 * (comments, CDATA, processing instructions, DOCTYPE); -1 when there is none. Linear: used on
 * the error path of hostile input.
 */
function bareAmpersand(text: string): number {
  let at = 0
  let markup = text.indexOf('<!', at)
  let pi = text.indexOf('<?', at)
  for (;;) {
    const ampersand = text.indexOf('&', at)
    if (ampersand === -1) return -1
    if (markup !== -1 && markup < at) markup = text.indexOf('<!', at)
    if (pi !== -1 && pi < at) pi = text.indexOf('<?', at)
    const skip = Math.min(markup === -1 ? Infinity : markup, pi === -1 ? Infinity : pi)
    if (skip < ampersand) {
      const end = text.startsWith('<![CDATA[', skip) ? ']]>' : text.startsWith('<!--', skip) ? '-->' : skip === pi ? '?>' : '>'
      const close = text.indexOf(end, skip + 2)
      if (close === -1) return -1
      at = close + end.length
      continue
    }
    REFERENCE.lastIndex = ampersand
    if (!REFERENCE.test(text)) return ampersand
    at = ampersand + 1
  }
}

function leafValue(name: string, text: string, fail: (message: string) => AirstripError): PlistValue {
  switch (name) {
    case 'integer':
      return integer(text.trim(), fail)
    case 'real': {
      const trimmed = text.trim()
      const special = SPECIAL_REALS[trimmed.toLowerCase()]
      if (special !== undefined) return special
      if (!REAL.test(trimmed)) throw fail(`<real> "${trimmed.slice(0, 40)}" is not a number`)
      return Number(trimmed)
    }
    case 'date': {
      const trimmed = text.trim()
      const ms = ISO_DATE.test(trimmed) ? Date.parse(trimmed) : NaN
      if (Number.isNaN(ms)) throw fail(`<date> "${trimmed.slice(0, 40)}" is not an ISO 8601 date`)
      return new Date(ms)
    }
    case 'data':
      // Lenient on purpose, like Apple's parser: real profiles carry invalid base64 here
      // (e.g. "REDACTED"); consumers validate what the bytes decode to.
      return new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64'))
    case 'true':
    case 'false':
      if (text.trim() !== '') throw fail(`<${name}> must be empty`)
      return name === 'true'
    case 'null':
      return null
    default:
      return text
  }
}

function integer(text: string, fail: (message: string) => AirstripError): number | bigint {
  if (!DECIMAL_INTEGER.test(text) && !HEX_INTEGER.test(text)) throw fail(`<integer> "${text.slice(0, 40)}" is not an integer`)
  const negative = text.startsWith('-')
  const digits = text.replace(/^[+-]/, '')
  const magnitude = BigInt(digits)
  if (magnitude >= INT128_LIMIT) throw fail(`<integer> ${text} is out of range`)
  const result = negative ? -magnitude : magnitude
  return result >= BigInt(Number.MIN_SAFE_INTEGER) && result <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(result) : result
}
