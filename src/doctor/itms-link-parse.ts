import { itmsServicesUrl } from '../ota/itms-link.ts'

/** Where a link was found: decoded attribute values (what Safari follows), raw script text, or the command line. */
export type LinkContext = 'attribute' | 'script' | 'argument'

export interface LinkFinding {
  severity: 'error' | 'warning'
  message: string
}

export interface ParsedLink {
  raw: string
  context: LinkContext
  /** The manifest URL iOS would fetch (best effort when the link is damaged), or null. */
  manifestUrl: string | null
  findings: LinkFinding[]
  /** The link as Airstrip writes it for this manifest URL (`itmsServicesUrl`), to show the fix. */
  expected: string | null
}

const SCHEME = /^itms-services:/i
const MAX_NESTING = 3

/**
 * Reads an `itms-services://?action=download-manifest&url=…` link the way iOS does and lists what
 * breaks it (matrix rows 3–4, §B.2): a host before `?` (built with a URL library), a literal
 * `&amp;` outside HTML, a doubled prefix, an unencoded manifest URL whose own query is cut at `&`,
 * spaces or non-ASCII (iOS decodes `url` once, then drops invalid URLs silently).
 */
export function parseItmsLink(raw: string, context: LinkContext, depth = 0): ParsedLink {
  const findings: LinkFinding[] = []
  const error = (message: string): void => void findings.push({ severity: 'error', message })
  const warning = (message: string): void => void findings.push({ severity: 'warning', message })
  const result = (manifestUrl: string | null): ParsedLink => ({ raw, context, manifestUrl, findings, expected: expectedLink(manifestUrl) })

  let text = raw
  if (text !== text.trim()) {
    error('the link has spaces or line breaks around it')
    text = text.trim()
  }
  if (!SCHEME.test(text)) {
    error('it is not an itms-services: link')
    return result(null)
  }
  let rest = text.replace(SCHEME, '')
  if (rest.startsWith('//')) rest = rest.slice(2)
  else error('"//" is missing after "itms-services:"')
  const question = rest.indexOf('?')
  const host = question === -1 ? rest : rest.slice(0, question)
  if (host !== '') error(`the link has a host ("${host}") before "?": iOS expects "itms-services://?action=…" (a URL library built it with a host)`)
  if (question === -1) {
    error('the link has no query (?action=download-manifest&url=…)')
    return result(null)
  }
  let query = rest.slice(question + 1)
  const hash = query.indexOf('#')
  if (hash !== -1) {
    error('the link contains "#": everything after it is a fragment, so the manifest URL is cut there (encode the url value)')
    query = query.slice(0, hash)
  }
  if (/&amp;/i.test(query)) {
    error(
      context === 'attribute'
        ? 'the page escapes the link twice: after HTML decoding it still contains "&amp;" (write &amp; once in HTML, or & in JavaScript)'
        : `the link contains a literal "&amp;": that escape belongs only in HTML source; ${context === 'script' ? 'in JavaScript' : 'here'} it must be a plain "&"`,
    )
  }

  const params = query.split('&').map((part) => {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).replace(/^amp;/i, '')
    return { name, value: eq === -1 ? '' : part.slice(eq + 1) }
  })
  const actions = params.filter((p) => p.name === 'action')
  if (actions.length === 0) error('the link has no action=download-manifest')
  else if (actions.some((p) => p.value !== 'download-manifest')) error(`the action is "${actions.map((p) => p.value).join('", "')}", not download-manifest`)
  const urlIndex = params.findIndex((p) => p.name === 'url')
  if (urlIndex === -1) {
    error('the link has no url= parameter')
    return result(null)
  }
  if (params.filter((p) => p.name === 'url').length > 1) error('the link has more than one url= parameter')
  let urlValue = params[urlIndex]!.value
  const extras = params.slice(urlIndex + 1).filter((p) => p.name !== 'action' && p.name !== 'url')
  if (extras.length > 0) {
    if (safeDecode(urlValue)?.includes('?')) {
      error(`the manifest URL's own query was cut at "&" (iOS reads "${extras.map((p) => p.name).join('", "')}" as separate link parameters): encode the whole url value with encodeURIComponent`)
      urlValue = [urlValue, ...extras.map((p) => (p.value === '' ? p.name : `${p.name}=${p.value}`))].join('&')
    } else {
      warning(`the link has unknown parameters: ${extras.map((p) => p.name).join(', ')}`)
    }
  }
  if (/\s/.test(urlValue)) error('the url value contains spaces: iOS drops the link (write %2520 for a space in the manifest path, or avoid spaces)')
  else if (/[^\x21-\x7e]/.test(urlValue)) error('the url value contains non-ASCII characters: iOS drops the link (percent-encode them, twice)')

  const decoded = safeDecode(urlValue)
  if (decoded === null) {
    error('the url value has invalid percent-encoding')
    return result(null)
  }
  if (SCHEME.test(decoded)) {
    error('the prefix is doubled: the url value is itself an itms-services link')
    if (depth >= MAX_NESTING) return result(null)
    return result(parseItmsLink(decoded, context, depth + 1).manifestUrl)
  }
  try {
    itmsServicesUrl(decoded, { allowHttp: true })
  } catch (cause) {
    error(`iOS cannot use the manifest URL "${decoded}": ${(cause as Error).message}`)
    return result(/^https?:\/\//i.test(decoded) && !/\s/.test(decoded) ? decoded : null)
  }
  if (/[:/]/.test(urlValue) && !findings.some((f) => f.severity === 'error')) {
    warning('the url value is not percent-encoded: it works only while the manifest URL has no "&", "#" or "%"; write encodeURIComponent(manifestUrl)')
  }
  return result(decoded)
}

function expectedLink(manifestUrl: string | null): string | null {
  if (!manifestUrl) return null
  try {
    return itmsServicesUrl(manifestUrl, { allowHttp: true })
  } catch {
    return null
  }
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value)
  } catch {
    return null
  }
}
