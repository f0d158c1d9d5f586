import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'

/** The pages Airstrip renders; each is `src/web/templates/<name>.eta` inside `layout.eta`. */
export type PageName = 'install' | 'home' | 'not-found' | 'enroll' | 'enroll-result' | 'access-password' | 'access-denied'

/**
 * The one Eta instance. autoEscape is on: `<%= %>` HTML-escapes exactly once (so a real `&` in a
 * link becomes `&amp;` in the attribute source and the browser decodes it back); `<%~ %>` is used
 * only for markup and code Airstrip itself produces (the page CSS, the QR SVG, the touch test, the
 * release notes' HTML from release-notes.ts). rmWhitespace strips the templates' indentation (data
 * is untouched), which keeps pages small.
 */
const eta = new Eta({
  views: fileURLToPath(new URL('./templates/', import.meta.url)),
  autoEscape: true,
  rmWhitespace: true,
  cache: true,
})

/** The page stylesheet, inlined in a nonce'd <style> (the CSP allows nothing else), comments and indentation removed. */
export const PAGE_CSS = minifyCss(readFileSync(new URL('./assets/page.css', import.meta.url), 'utf8'))

/** Renders a page to an HTML string. Data shapes are the `*View` types in this folder. */
export function renderPage(name: PageName, data: object): string {
  return eta.render(`./${name}`, data)
}

function minifyCss(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{}:;,>])\s*/g, '$1')
    .replace(/;}/g, '}')
    .trim()
}
