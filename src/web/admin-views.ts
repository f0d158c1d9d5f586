import type { Services } from '../app.ts'
import type { ActiveSession } from '../accounts/account-service.ts'
import { can } from '../accounts/roles.ts'
import { csrfTokenFor } from '../accounts/secrets.ts'
import { relativeTime } from '../ota/install-labels.ts'
import { INSECURE_HTTP_BANNER } from '../ota/install-page.ts'
import { ADMIN_CSS, ADMIN_JS } from './admin-render.ts'

/** The sections in the admin UI's navigation, in order. */
export const ADMIN_SECTIONS = [
  { id: 'apps', label: 'Apps', path: '' },
  { id: 'testers', label: 'Testers', path: '/testers' },
  { id: 'devices', label: 'Devices', path: '/devices' },
  { id: 'webhooks', label: 'Webhooks', path: '/webhooks' },
  { id: 'tokens', label: 'Tokens', path: '/tokens' },
  { id: 'settings', label: 'Settings', path: '/settings' },
] as const

export type AdminSection = (typeof ADMIN_SECTIONS)[number]['id'] | null

/** The frame of every admin page (templates/admin/layout.eta). */
export interface AdminLayout {
  title: string
  nonce: string
  css: string
  js: string
  /** `<base path>/admin`: every admin link starts with it. */
  base: string
  user: { name: string; email: string; role: string } | null
  /** This session's CSRF token, for every form; null before sign-in. */
  csrf: string | null
  nav: Array<{ label: string; href: string; current: boolean }>
  can: { manage: boolean; administer: boolean }
  insecureBanner: string | null
}

export function adminLayout(services: Services, input: { nonce: string; title: string; session: ActiveSession | null; section?: AdminSection }): AdminLayout {
  const base = adminBase(services)
  const { session } = input
  return {
    title: `${input.title} · Airstrip admin`,
    nonce: input.nonce,
    css: ADMIN_CSS,
    js: ADMIN_JS,
    base,
    user: session && { name: session.user.name, email: session.user.email, role: session.user.role },
    csrf: session && csrfTokenFor(session.id),
    nav: session ? ADMIN_SECTIONS.map((s) => ({ label: s.label, href: `${base}${s.path}`, current: s.id === input.section })) : [],
    can: { manage: session ? can(session.user.role, 'manage') : false, administer: session ? can(session.user.role, 'administer') : false },
    insecureBanner: services.config.tls.mode === 'insecure-http' && !services.urls.isHttps ? INSECURE_HTTP_BANNER : null,
  }
}

export function adminBase(services: Services): string {
  return `${services.urls.basePath}/admin`
}

/** "3 days ago" against the server's clock. */
export function timeAgo(services: Services, iso: string): string {
  return relativeTime(iso, services.now())
}
