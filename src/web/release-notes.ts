import { createRequire } from 'node:module'
import type MarkdownIt from 'markdown-it'

/**
 * Release notes are markdown written by whoever uploads: rendered with raw HTML disabled (tags
 * come out as text), images off (the CSP forbids external requests anyway; a broken image helps
 * no one), and links limited to http(s) and mailto, opened without a referrer. The one renderer
 * for every page and mail that shows notes as HTML (install and app pages, static export, admin,
 * the release mail's HTML part); plain-text channels show the notes as typed.
 */
type Renderer = InstanceType<typeof MarkdownIt>
let renderer: Renderer | null = null

/**
 * The configured renderer, made on the first notes rendered rather than at start: markdown-it is
 * ~1 MiB of heap a server may go a long time without. Required (its CommonJS build), so that
 * rendering stays synchronous.
 */
function markdown(): Renderer {
  if (renderer) return renderer
  const MarkdownItClass = createRequire(import.meta.url)('markdown-it') as typeof MarkdownIt
  const md = new MarkdownItClass({ html: false, linkify: true, breaks: true, typographer: false })
  md.disable(['image'])
  md.validateLink = (url: string): boolean => SAFE_LINK.test(url.trim())

  const defaultLinkOpen = md.renderer.rules['link_open'] ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options))
  md.renderer.rules['link_open'] = (tokens, index, options, env, self) => {
    const token = tokens[index]!
    token.attrSet('rel', 'noopener noreferrer nofollow')
    token.attrSet('target', '_blank')
    return defaultLinkOpen(tokens, index, options, env, self)
  }

  md.core.ruler.push('release_notes_shape', (state) => {
    for (const token of state.tokens) {
      // Table alignment comes as style="text-align:…": a CSP without 'unsafe-inline' refuses it (and says so in the console).
      if (token.attrs) token.attrs = token.attrs.filter(([name]) => name !== 'style')
      if (token.type === 'heading_open' || token.type === 'heading_close') {
        token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + HEADING_SHIFT)}`
      }
    }
  })
  return (renderer = md)
}

const SAFE_LINK = /^(https?:|mailto:)/i

/** Notes sit under the page's h1 (the app) and h2 (the section): `# Fixes` becomes an h3. */
const HEADING_SHIFT = 2

/**
 * Notes as safe HTML (escaped text, a small set of tags, checked links).
 *
 * @example renderReleaseNotes('- Fixed [login](https://example.com)') // '<ul>\n<li>Fixed <a href="https://example.com" rel="noopener noreferrer nofollow" target="_blank">login</a></li>\n</ul>'
 */
export function renderReleaseNotes(notes: string): string {
  return markdown().render(notes).trim()
}
