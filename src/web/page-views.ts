import type { Services } from '../app.ts'
import { dateLabel, relativeTime, versionLabel } from '../ota/install-labels.ts'
import { INSECURE_HTTP_BANNER, type InstallPageModel } from '../ota/install-page.ts'
import type { PageProblem } from '../ota/page-problems.ts'
import type { AppSummary } from '../store/records.ts'
import { CA_TRUST_STEPS } from '../tls/ca-profile.ts'
import { renderReleaseNotes } from './release-notes.ts'
import { PAGE_CSS } from './render.ts'

/**
 * What the templates read besides `installPageModel`: the page frame and a few display strings
 * derived from the model. Decisions stay in the model (src/ota/install-page.ts); these only turn
 * its data into labels and links, so the templates hold nothing but loops and conditionals.
 */


/** The frame every page shares. */
export interface LayoutView {
  title: string
  nonce: string
  css: string
  /** The "All apps" link; null on a standalone page (airstrip export), which has no app list. */
  homeUrl: string | null
  /** A Content-Security-Policy for a <meta> tag, for pages served without Airstrip's headers. */
  csp?: string
  insecureBanner: string | null
  /** "First time? Trust this server": only when Airstrip made its own (dev) CA. */
  ca: { profileUrl: string; certUrl: string; steps: string[] } | null
}

export function layoutView(services: Services, nonce: string, title: string): LayoutView {
  const { urls } = services
  return {
    title,
    nonce,
    css: PAGE_CSS,
    homeUrl: urls.home(),
    insecureBanner: services.config.tls.mode === 'insecure-http' ? INSECURE_HTTP_BANNER : null,
    ca: services.devCaDer ? { profileUrl: urls.caProfile(), certUrl: urls.caCertificate(), steps: CA_TRUST_STEPS } : null,
  }
}

/** Data of `install.eta`: the model plus display strings. */
export interface InstallView {
  layout: LayoutView
  /** 'app': the app page (latest build); 'build': one build's page. */
  kind: 'app' | 'build'
  m: InstallPageModel
  /** The release notes' markdown as safe HTML (release-notes.ts), or null. */
  notesHtml: string | null
  initial: string
  qrSvg: string | null
  errors: PageProblem[]
  warnings: PageProblem[]
  signing: { expires: string | null; devices: string | null }
  history: Array<InstallPageModel['history'][number] & { url: string }>
  showHistory: boolean
  appPageUrl: string
}

export function installView(
  services: Services,
  input: { nonce: string; kind: 'app' | 'build'; model: InstallPageModel; qrSvg: string | null; appId: string },
): InstallView {
  const { model: m } = input
  return composeInstallView({
    layout: layoutView(services, input.nonce, `${m.title} ${m.versionLabel}`),
    kind: input.kind,
    model: m,
    qrSvg: input.qrSvg,
    now: services.now(),
    historyUrl: (id) => services.urls.installPage(id),
    appPageUrl: services.urls.appPage(input.appId),
  })
}

/**
 * The install page as a standalone file (`airstrip export`): no server behind it, so no app list,
 * no version history, no CA card, no relative dates that would go stale; its own CSP in a <meta>
 * tag because a static host sends none.
 */
export function standaloneInstallView(input: { model: InstallPageModel; qrSvg: string | null; nonce: string }): InstallView {
  const { model: m, nonce } = input
  const layout: LayoutView = {
    title: `${m.title} ${m.versionLabel}`,
    nonce,
    css: PAGE_CSS,
    homeUrl: null,
    csp: `default-src 'none'; img-src 'self' https: data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; base-uri 'none'; form-action 'none'`,
    insecureBanner: null,
    ca: null,
  }
  return composeInstallView({ layout, kind: 'build', model: m, qrSvg: input.qrSvg, now: null, historyUrl: () => m.urls.installPage, appPageUrl: m.urls.installPage })
}

/** `now` null: dates without "(in 3 months)", for pages that are not rendered per visit. */
function composeInstallView(input: {
  layout: LayoutView
  kind: 'app' | 'build'
  model: InstallPageModel
  qrSvg: string | null
  now: Date | null
  historyUrl: (buildId: string) => string
  appPageUrl: string
}): InstallView {
  const { model: m, kind, now } = input
  const { expiresAt, expired, deviceCount } = m.signing
  return {
    layout: { ...input.layout, insecureBanner: m.insecureBanner },
    kind,
    m,
    notesHtml: m.releaseNotes ? renderReleaseNotes(m.releaseNotes) : null,
    initial: initialOf(m.title),
    qrSvg: input.qrSvg,
    errors: m.problems.filter((p) => p.severity === 'error'),
    warnings: m.problems.filter((p) => p.severity === 'warning'),
    signing: {
      expires: expiresAt ? `${expired ? 'Expired' : 'Expires'} ${dateLabel(expiresAt)}${now ? ` (${relativeTime(expiresAt, now)})` : ''}` : null,
      devices: deviceCount === null ? null : deviceCount === 'all devices' ? 'Any device' : `${deviceCount} registered device${deviceCount === 1 ? '' : 's'}`,
    },
    history: m.history.map((entry) => ({ ...entry, url: input.historyUrl(entry.id) })),
    showHistory: kind === 'app' || m.history.length > 1,
    appPageUrl: input.appPageUrl,
  }
}

/** One row of the home page's app list. */
export interface AppListItem {
  name: string
  bundleId: string
  initial: string
  url: string
  iconUrl: string | null
  latest: string
  builds: string
  updated: string
}

export interface HomeView {
  layout: LayoutView
  apps: AppListItem[]
  apiDocsUrl: string
}

export function appListItem(services: Services, app: AppSummary, iconUrl: string | null): AppListItem {
  return {
    name: app.name,
    bundleId: app.bundleId,
    initial: initialOf(app.name),
    url: services.urls.appPage(app.id),
    iconUrl,
    latest: app.latestBuildId ? versionLabel(app.latestVersion, app.latestBuild) : 'no builds',
    builds: `${app.buildCount} build${app.buildCount === 1 ? '' : 's'}`,
    updated: relativeTime(app.updatedAt, services.now()),
  }
}

export interface NotFoundView {
  layout: LayoutView
  heading: string
  message: string
}

/** Stand-in for a missing icon: the name's first letter (a whole grapheme, so emoji survive). */
function initialOf(name: string): string {
  const first = new Intl.Segmenter().segment(name.trim()).containing(0)?.segment ?? ''
  return first.toUpperCase() || '?'
}
