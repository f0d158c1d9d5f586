import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import { judgeGrant, type AccessScope } from '../access/access-policy.ts'
import { planAppPage, type ChannelView } from '../access/app-page-plan.ts'
import { DEFAULT_CHANNEL } from '../access/channel-name.ts'
import { isAirstripError } from '../errors.ts'
import { versionLabel } from '../ota/install-labels.ts'
import type { InstallPageChannel } from '../ota/install-page.ts'
import type { GrantRecord } from '../store/access.ts'
import type { AppRecord, BuildRecord } from '../store/records.ts'
import { layoutView } from '../web/page-views.ts'
import { renderPage } from '../web/render.ts'

/** Versions listed under a build (newest first), per channel. */
const HISTORY_LIMIT = 50

/** A personal link being followed: its secret (for the page's own links) and its live grant. */
export interface InviteVisit {
  secret: string
  grant: GrantRecord
}

/** What an install page shows once access is settled. */
export interface AccessiblePage {
  kind: 'render'
  app: AppRecord
  build: BuildRecord
  /** The build's channel, newest first. */
  history: BuildRecord[]
  /** Links on the page are minted under it (null: public). */
  grant: GrantRecord | null
  pageUrl: string
  urlFor: (buildId: string) => string
  appPageUrl: string
  channel: string | null
  channels: InstallPageChannel[]
}

/** A page not shown: the password form, or a refusal (403, or 410 for a revoked or expired link). */
export type PageRefusal = { kind: 'password'; scope: AccessScope; error?: string; status?: number } | { kind: 'denied'; status: 403 | 410; message: string }

/**
 * Access to install on the HTML pages: which build a visitor sees and under which grant its links
 * are minted, or the password form, or a clean 403/410 page. Public builds behave as before; a
 * password build needs the page cookie its scope's password sets; an invite-only build opens only
 * through the tester's personal link (`/t/<secret>`), whose pages keep the secret in their own links
 * (and QR code) instead of a cookie, so the link works when passed from a laptop to a phone.
 */
export function createPageAccess(services: Services) {
  const { access, urls } = services

  const linksFor = (app: AppRecord, invite: InviteVisit | null) => ({
    pageUrl: (buildId: string) => (invite ? access.inviteUrl(invite.secret, buildId) : urls.installPage(buildId)),
    appPageUrl: (channel?: string) => (invite ? access.inviteUrl(invite.secret) : urls.appPage(app.id)) + (channel ? `?channel=${channel}` : ''),
  })

  /** The grant under which `visitor` may see a build of `target`, 'password' when its password would open it, or a refusal. */
  const gate = async (request: FastifyRequest, target: { bundleId: string; channel: string }, invite: InviteVisit | null): Promise<{ kind: 'open'; grant: GrantRecord | null } | PageRefusal> => {
    const policy = await access.policyFor(target)
    if (invite) {
      const decision = judgeGrant(invite.grant, policy, target, services.now())
      return decision.ok ? { kind: 'open', grant: invite.grant } : { kind: 'denied', status: decision.outcome === 'revoked' ? 410 : 403, message: decision.reason }
    }
    if (policy.mode === 'public') return { kind: 'open', grant: null }
    if (policy.mode === 'password') {
      const grant = await access.unlockedGrant(request.headers.cookie, policy.source)
      return grant ? { kind: 'open', grant } : { kind: 'password', scope: policy.source }
    }
    return { kind: 'denied', status: 403, message: 'This build is invite-only. Open the personal link you were sent, or ask for one.' }
  }

  return {
    /** One build's page (`/i/:id`, `/t/:secret/:id`). */
    async buildPage(request: FastifyRequest, app: AppRecord, build: BuildRecord, invite: InviteVisit | null): Promise<AccessiblePage | PageRefusal> {
      const opened = await gate(request, build, invite)
      if (opened.kind !== 'open') return opened
      const [history, channels] = await Promise.all([access.channels.listChannelBuilds(build.bundleId, build.channel, HISTORY_LIMIT), access.channels.listChannels(build.bundleId)])
      const links = linksFor(app, invite)
      return {
        kind: 'render', app, build, history, grant: opened.grant,
        pageUrl: links.pageUrl(build.id), urlFor: links.pageUrl, appPageUrl: links.appPageUrl(build.channel),
        channel: channels.length > 1 || build.channel !== DEFAULT_CHANNEL ? build.channel : null,
        channels: [],
      }
    },

    /** The app page (`/apps/:id`, `/t/:secret`): the newest build of a channel the visitor may see, and the list of channels. */
    async appPage(request: FastifyRequest, app: AppRecord, channel: string | null, invite: InviteVisit | null): Promise<AccessiblePage | PageRefusal | null> {
      const all = await access.channels.listChannels(app.bundleId)
      const wanted = channel === null ? all : all.filter((c) => c.name === channel)
      if (wanted.length === 0) return null
      const views: Array<ChannelView & { grant: GrantRecord | null }> = []
      for (const c of wanted) {
        const policy = await access.policyFor({ bundleId: app.bundleId, channel: c.name })
        const opened = await gate(request, { bundleId: app.bundleId, channel: c.name }, invite)
        views.push({ name: c.name, mode: policy.mode, source: policy.source, open: opened.kind === 'open', latestBuildId: c.latestBuildId, grant: opened.kind === 'open' ? opened.grant : null })
      }
      const plan = planAppPage(views, channel ?? undefined)
      // A personal page has no password form: what its invite does not open stays closed.
      if (plan.kind === 'password' && !invite) return { kind: 'password', scope: plan.scope }
      if (plan.kind !== 'show') {
        if (invite && invite.grant.channel !== null && channel === null) return { kind: 'denied', status: 403, message: 'This personal link opens one channel only.' }
        return { kind: 'denied', status: 403, message: 'This app is invite-only. Open the personal link you were sent, or ask for one.' }
      }
      const build = await services.meta.getBuild(plan.heroBuildId)
      if (!build) return null
      const hero = views.find((v) => v.name === plan.heroChannel)!
      const links = linksFor(app, invite)
      const listed: InstallPageChannel[] = []
      for (const c of plan.listed.filter((listedChannel) => listedChannel.open || !invite)) {
        const latest = c.open && c.latestBuildId ? await services.meta.getBuild(c.latestBuildId) : null
        listed.push({ name: c.name, url: links.appPageUrl(c.name), versionLabel: latest ? versionLabel(latest.version, latest.build) : null, locked: !c.open, current: c.name === plan.heroChannel })
      }
      return {
        kind: 'render', app, build, grant: hero.grant,
        history: await access.channels.listChannelBuilds(app.bundleId, plan.heroChannel, HISTORY_LIMIT),
        pageUrl: links.appPageUrl(channel ?? undefined), urlFor: links.pageUrl, appPageUrl: links.appPageUrl(),
        channel: all.length > 1 || plan.heroChannel !== DEFAULT_CHANNEL ? plan.heroChannel : null,
        channels: listed,
      }
    },

    /**
     * Whether the home page lists the app (some channel is not invite-only: its page shows builds or
     * a password form) and whether its newest build's icon may show (that build is public).
     */
    async onHome(bundleId: string, latest: BuildRecord | null): Promise<{ listed: boolean; icon: boolean }> {
      let listed = false
      for (const channel of await access.channels.listChannels(bundleId)) {
        if (channel.latestBuildId !== null && (await access.policyFor({ bundleId, channel: channel.name })).mode !== 'invite') listed = true
      }
      return { listed, icon: listed && latest !== null && (await access.policyFor(latest)).mode === 'public' }
    },

    /** The live invite behind a personal link, or the refusal page to show instead. */
    async invite(secret: string): Promise<InviteVisit | PageRefusal> {
      try {
        return { secret, grant: await access.openInvite(secret) }
      } catch (error) {
        if (isAirstripError(error, 'access-revoked')) return { kind: 'denied', status: 410, message: error.message }
        if (isAirstripError(error, 'access-denied')) return { kind: 'denied', status: 403, message: error.message }
        throw error
      }
    },

    /** Sends the password form (to POST back to `action`) or the refusal page. Never cached, never indexed. */
    sendRefusal(request: FastifyRequest, reply: FastifyReply, refusal: PageRefusal, action: string): FastifyReply {
      const layout = layoutView(services, request.cspNonce, refusal.kind === 'password' ? 'Password required · Airstrip' : 'No access · Airstrip')
      const html =
        refusal.kind === 'password'
          ? renderPage('access-password', {
              layout, action, scope: refusal.scope.channel ?? '', error: refusal.error ?? null,
              heading: 'Password required', message: refusal.scope.channel ? `The “${refusal.scope.channel}” channel of this app is password-protected.` : 'This app is password-protected.',
            })
          : renderPage('access-denied', { layout, heading: refusal.status === 410 ? 'This link no longer works' : 'No access', message: refusal.message })
      return reply
        .code(refusal.kind === 'password' ? (refusal.status ?? 200) : refusal.status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(html)
    },
  }
}

export type PageAccess = ReturnType<typeof createPageAccess>
