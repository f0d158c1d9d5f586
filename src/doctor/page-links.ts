import type { LinkContext } from './itms-link-parse.ts'

export interface FoundLink {
  value: string
  context: Extract<LinkContext, 'attribute' | 'script'>
}

const TAG_NAME = /^<([a-zA-Z][^\s/>]*)/
const RAW_TEXT_ELEMENTS = new Set(['script', 'style', 'textarea', 'title'])
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
const LINK_IN_SCRIPT = /itms-services:[^'"`\s<>\\]*(?:\\.[^'"`\s<>\\]*)*/gi
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }

/**
 * The itms-services links of an install page, each as the browser would use it: attribute values
 * HTML-decoded (so `&amp;` there is right), script text raw except for JavaScript string escapes
 * (so `&amp;` there is the classic bug). Hand-written rather than a parser because only these
 * two things are needed, no HTML parser is among the dependencies, and the XML one (saxes) stops
 * at the mismatched tags real pages have.
 */
export function findItmsLinks(html: string): FoundLink[] {
  const found: FoundLink[] = []
  const seen = new Set<string>()
  const add = (value: string, context: FoundLink['context']): void => {
    const key = `${context}\u0000${value}`
    if (!seen.has(key)) {
      seen.add(key)
      found.push({ value, context })
    }
  }
  // One linear pass (no backtracking regex over the whole page: the page is untrusted input).
  const lower = html.toLowerCase()
  let at = 0
  while (at < html.length) {
    const open = html.indexOf('<', at)
    if (open === -1) break
    if (html.startsWith('<!--', open)) {
      const end = html.indexOf('-->', open + 4)
      at = end === -1 ? html.length : end + 3
      continue
    }
    const name = TAG_NAME.exec(html.slice(open, open + 64))?.[1]?.toLowerCase()
    if (!name) {
      at = open + 1
      continue
    }
    const close = html.indexOf('>', open)
    if (close === -1) break
    for (const attribute of html.slice(open + 1 + name.length, close).matchAll(ATTRIBUTE)) {
      const value = decodeEntities(attribute[2] ?? attribute[3] ?? attribute[4] ?? '')
      const scheme = value.search(/itms-services:/i)
      // An href, or a meta refresh ("0; url=itms-services://…"): the link starts at the scheme.
      if (scheme !== -1) add(value.slice(scheme), 'attribute')
    }
    at = close + 1
    if (RAW_TEXT_ELEMENTS.has(name)) {
      const end = lower.indexOf(`</${name}`, at)
      const text = html.slice(at, end === -1 ? html.length : end)
      if (name === 'script') for (const match of text.matchAll(LINK_IN_SCRIPT)) add(unescapeJs(match[0]), 'script')
      at = end === -1 ? html.length : end
    }
  }
  return found
}

/** HTML character references in attribute values: numeric ones and the few named ones URLs meet. */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10)
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return NAMED_ENTITIES[name.toLowerCase()] ?? whole
  })
}

/** `\/`, `\xHH` and `\uHHHH` in a JavaScript string literal. */
function unescapeJs(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (_whole, escape: string) =>
    escape.length > 1 ? String.fromCharCode(Number.parseInt(escape.slice(1), 16)) : escape,
  )
}
