import MarkdownIt from 'markdown-it'

/**
 * Release notes are markdown written by whoever uploads: rendered with raw HTML disabled (tags
 * come out as text), images off (the CSP forbids external requests anyway; a broken image helps
 * no one), and links limited to http(s) and mailto, opened without a referrer.
 */
const markdown = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false })
markdown.disable(['image'])

const SAFE_LINK = /^(https?:|mailto:)/i
markdown.validateLink = (url: string): boolean => SAFE_LINK.test(url.trim())

const defaultLinkOpen = markdown.renderer.rules['link_open'] ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options))
markdown.renderer.rules['link_open'] = (tokens, index, options, env, self) => {
  const token = tokens[index]!
  token.attrSet('rel', 'noopener noreferrer nofollow')
  token.attrSet('target', '_blank')
  return defaultLinkOpen(tokens, index, options, env, self)
}

/** Notes as safe HTML (escaped text, a small set of tags, checked links). */
export function renderReleaseNotes(notes: string): string {
  return markdown.render(notes)
}
