/**
 * Safe property-list parsing: XML and binary plists from untrusted archives.
 *
 * XML is parsed by @xmldom/xmldom (the parser the `plist` package uses), but the DOM is turned
 * into values here instead of by `plist.parse`, because `plist` 5: throws on the invalid base64
 * that real profiles carry in <data>; cannot report xmldom's non-fatal errors (unknown entities,
 * content after the root) and lets xmldom print them to the console; rounds integers beyond
 * 2^53; and recurses without a depth limit. Binary plists go to `./binary-plist.ts`.
 */
import { DOMParser } from '@xmldom/xmldom'
import type { Element, Node } from '@xmldom/xmldom'
import { AirstripError } from '../errors.ts'
import { parseBinaryPlist } from './binary-plist.ts'
import { LIMITS } from './limits.ts'
import type { PlistDict, PlistValue } from './types.ts'

const ELEMENT_NODE = 1
const TEXT_NODE = 3
const CDATA_SECTION_NODE = 4
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
 * PUBLIC DTD reference (which is never fetched: xmldom does not load DTDs).
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

function parseXmlPlist(text: string, what: string): PlistValue {
  const fail = (message: string): AirstripError => new AirstripError('invalid-plist', `${what}: ${message}`)
  // Whitespace before the XML declaration is harmless, though xmldom (per the spec) rejects it.
  text = text.replace(/^[ \t\r\n]+/, '')
  if (!text.startsWith('<')) throw fail('neither an XML nor a binary property list')
  refuseDtd(text, what)
  let firstError: string | null = null
  const parser = new DOMParser({
    // Every warning or error stops parsing: a plist that xmldom has to repair is not trusted.
    // Handling them here also keeps xmldom from printing to the console.
    onError: (level, message) => {
      firstError ??= `malformed XML (${level}: ${message.trim()})`
      throw new Error(firstError)
    },
  })
  let root: Element | null
  try {
    root = parser.parseFromString(text, 'text/xml').documentElement
  } catch (error) {
    throw new AirstripError('invalid-plist', `${what}: ${firstError ?? `malformed XML (${(error as Error).message})`}`, { cause: error })
  }
  if (root?.nodeName !== 'plist') throw fail(`root element is <${root?.nodeName ?? 'none'}>, not <plist>`)
  const children = elementChildren(root, fail)
  if (children.length !== 1) throw fail(`<plist> must hold exactly one value, found ${children.length}`)
  let produced = 0

  function value(node: Element, depth: number): PlistValue {
    if (++produced > LIMITS.plistObjects) throw fail(`holds more than ${LIMITS.plistObjects} values`)
    const name = node.nodeName
    switch (name) {
      case 'dict': {
        if (depth >= LIMITS.plistDepth) throw fail(`nested deeper than ${LIMITS.plistDepth} levels`)
        const items = elementChildren(node, fail)
        if (items.length % 2 !== 0) throw fail('<dict> has a key without a value')
        const dict: PlistDict = {}
        for (let i = 0; i < items.length; i += 2) {
          const keyNode = items[i]!
          if (keyNode.nodeName !== 'key') throw fail(`<dict> expected <key>, found <${keyNode.nodeName}>`)
          const key = textOf(keyNode, fail)
          if (key === '__proto__') throw fail('the key "__proto__" is not allowed')
          dict[key] = value(items[i + 1]!, depth + 1)
        }
        return dict
      }
      case 'array': {
        if (depth >= LIMITS.plistDepth) throw fail(`nested deeper than ${LIMITS.plistDepth} levels`)
        return elementChildren(node, fail).map((child) => value(child, depth + 1))
      }
      case 'string':
        return textOf(node, fail)
      case 'integer':
        return integer(textOf(node, fail).trim(), fail)
      case 'real': {
        const text = textOf(node, fail).trim()
        const special = SPECIAL_REALS[text.toLowerCase()]
        if (special !== undefined) return special
        if (!REAL.test(text)) throw fail(`<real> "${text.slice(0, 40)}" is not a number`)
        return Number(text)
      }
      case 'date': {
        const text = textOf(node, fail).trim()
        const ms = ISO_DATE.test(text) ? Date.parse(text) : NaN
        if (Number.isNaN(ms)) throw fail(`<date> "${text.slice(0, 40)}" is not an ISO 8601 date`)
        return new Date(ms)
      }
      case 'data':
        // Lenient on purpose, like Apple's parser: real profiles carry invalid base64 here
        // (e.g. "REDACTED"); consumers validate what the bytes decode to.
        return new Uint8Array(Buffer.from(textOf(node, fail).replace(/\s+/g, ''), 'base64'))
      case 'true':
      case 'false':
        if (textOf(node, fail).trim() !== '') throw fail(`<${name}> must be empty`)
        return name === 'true'
      case 'null':
        return null
      default:
        throw fail(`unknown element <${name}>`)
    }
  }

  return value(children[0]!, 0)
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

/** Element children; whitespace, comments and processing instructions are skipped, other text is an error. */
function elementChildren(node: Element, fail: (message: string) => AirstripError): Element[] {
  const result: Element[] = []
  for (let child: Node | null = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === ELEMENT_NODE) result.push(child as Element)
    else if ((child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE) && (child.nodeValue ?? '').trim() !== '') {
      throw fail(`unexpected text inside <${node.nodeName}>`)
    }
  }
  return result
}

/** Text and CDATA content of a leaf element; a nested element is an error. */
function textOf(node: Element, fail: (message: string) => AirstripError): string {
  let text = ''
  for (let child: Node | null = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE) text += child.nodeValue ?? ''
    else if (child.nodeType === ELEMENT_NODE) throw fail(`unexpected <${child.nodeName}> inside <${node.nodeName}>`)
  }
  return text
}
