import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { PAGE_CSS } from './render.ts'

/**
 * The admin UI's pages: `src/web/templates/admin/<name>.eta` inside `admin/layout.eta`. Its own
 * Eta instance (same settings as render.ts: escape by default, whitespace trimmed), so the
 * tester-facing pages and the admin pages cannot include each other's templates by accident.
 */
const eta = new Eta({
  views: fileURLToPath(new URL('./templates/admin/', import.meta.url)),
  autoEscape: true,
  rmWhitespace: true,
  cache: true,
})

/** The admin stylesheet after the shared page styles (colours, cards, buttons), inlined with the CSP nonce. */
export const ADMIN_CSS = `${PAGE_CSS}${minify(readFileSync(new URL('./assets/admin.css', import.meta.url), 'utf8'))}`

/** Progressive enhancement only (drag-and-drop upload with progress, copy buttons): every page works without it. */
export const ADMIN_JS = readFileSync(new URL('./assets/admin.js', import.meta.url), 'utf8').replace(/^\s*\/\/.*$/gm, '').replace(/\n\s*\n/g, '\n')

export type AdminPageName =
  | 'login' | 'setup' | 'error' | 'apps' | 'app' | 'build' | 'doctor' | 'upload' | 'tokens' | 'secret-shown'
  | 'account' | 'testers' | 'devices' | 'webhooks' | 'settings' | 'channel' | 'retention'

/** Renders an admin page to an HTML string; data shapes are in admin-views.ts. */
export function renderAdminPage(name: AdminPageName, data: object): string {
  return eta.render(`./${name}`, data)
}

function minify(css: string): string {
  return css.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\s+/g, ' ').replace(/\s*([{}:;,>])\s*/g, '$1').replace(/;}/g, '}').trim()
}
