import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { detectClient } from '../../ota/client-detection.ts'
import { installPageModel } from '../../ota/install-page.ts'
import { qrCodeSvg } from '../../ota/qr-code.ts'
import { appListItem, installView, layoutView, type HomeView, type NotFoundView } from '../../web/page-views.ts'
import { renderPage, type PageName } from '../../web/render.ts'
import { mintBuildLinks } from '../build-links.ts'
import { isChannelName } from '../../access/channel-name.ts'
import { createPageAccess, type AccessiblePage, type PageRefusal } from '../access-pages.ts'

/** Ids as `newId` makes them; anything else is a 404 without touching the database. */
const ID = /^[A-Za-z0-9_-]{1,200}$/

/**
 * The HTML pages testers open: `/` (the apps), `/apps/:id` (an app's latest build and its
 * versions; `?channel=`) and `/i/:id` (one build), and `/t/:secret[/:id]` (a tester's personal link);
 * access to install (src/server/access-pages.ts) picks the page, a password form or a 403/410 page. Server-rendered per visitor (the User-Agent decides between
 * Install button, QR code and "open in Safari"), with freshly minted signed links every time, so
 * they are never cached. Unknown ids get a friendly HTML 404, not the API's JSON.
 */
export async function pagesRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { meta, urls } = services
  const pageAccess = createPageAccess(services)

  const send = (reply: FastifyReply, status: number, page: PageName, data: object): FastifyReply =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('vary', 'user-agent')
      .send(renderPage(page, data))

  const notFound = (request: FastifyRequest, reply: FastifyReply, what: 'build' | 'app'): FastifyReply => {
    const view: NotFoundView = {
      layout: layoutView(services, request.cspNonce, 'Not found'),
      heading: what === 'build' ? 'This build isn’t here' : 'This app isn’t here',
      message: `The link may be mistyped, or the ${what} has been deleted. Ask whoever sent it for a new link.`,
    }
    return send(reply, 404, 'not-found', view)
  }

  const renderInstall = async (request: FastifyRequest, reply: FastifyReply, kind: 'app' | 'build', input: AccessiblePage): Promise<FastifyReply> => {
    // Minted under the visitor's grant (password or personal link), if any: checked on every fetch.
    const links = services.access.mintLinks(input.build, input.grant)
    const model = installPageModel({
      app: input.app,
      build: input.build,
      history: input.history,
      // The page's own URL: what the QR code and "copy link" hand on.
      urls: { installPage: input.pageUrl, manifest: links.manifestUrl, itms: links.itmsServicesUrl, icon: links.iconUrl },
      client: detectClient(request.headers['user-agent']),
      now: services.now(),
      insecureHttp: services.config.tls.mode === 'insecure-http',
      device: await services.devices.deviceFromCookie(request.headers.cookie),
      enrollUrl: services.devices.urls.page(),
      channel: input.channel,
      channels: input.channels,
    })
    const qrSvg = model.showQr ? await qrCodeSvg(model.qrText) : null
    services.analytics.pageViewed(input.build, input.grant)
    const view = installView(services, { nonce: request.cspNonce, kind, model, qrSvg, appId: input.app.id })
    // Under a personal link, every link on the page keeps its secret.
    return send(reply, 200, 'install', { ...view, history: view.history.map((entry) => ({ ...entry, url: input.urlFor(entry.id) })), appPageUrl: input.appPageUrl })
  }
  const show = (request: FastifyRequest, reply: FastifyReply, kind: 'app' | 'build', page: AccessiblePage | PageRefusal, action: string): Promise<FastifyReply> | FastifyReply =>
    page.kind === 'render' ? renderInstall(request, reply, kind, page) : pageAccess.sendRefusal(request, reply, page, action)

  app.get('/', async (request, reply) => {
    const apps = await meta.listApps()
    const items = await Promise.all(
      apps.map(async (summary) => {
        const latest = summary.latestBuildId ? await meta.getBuild(summary.latestBuildId) : null
        // Apps that are not public are not listed; a private channel's icon is not shown.
        const { listed, icon } = await pageAccess.onHome(summary.bundleId, latest)
        return listed ? appListItem(services, summary, latest && icon ? mintBuildLinks(services, latest).iconUrl : null) : null
      }),
    )
    const view: HomeView = { layout: layoutView(services, request.cspNonce, 'Apps · Airstrip'), apps: items.filter((item) => item !== null), apiDocsUrl: urls.api('docs') }
    return send(reply, 200, 'home', view)
  })

  app.get<{ Params: { id: string } }>('/i/:id', async (request, reply) => {
    const { id } = request.params
    const build = ID.test(id) ? await meta.getBuild(id) : null
    const record = build ? await meta.getApp(build.appId) : null
    if (!build || !record) return notFound(request, reply, 'build')
    return show(request, reply, 'build', await pageAccess.buildPage(request, record, build, null), urls.installPage(build.id))
  })

  // `?channel=beta`: that channel's newest build and versions.
  app.get<{ Params: { id: string }; Querystring: { channel?: string } }>('/apps/:id', async (request, reply) => {
    const { id } = request.params
    const record = ID.test(id) ? await meta.getApp(id) : null
    const channel = channelParam(request.query.channel)
    const page = record && channel !== undefined ? await pageAccess.appPage(request, record, channel, null) : null
    if (!record || !page) return notFound(request, reply, 'app')
    return show(request, reply, 'app', page, `${urls.appPage(record.id)}${channel ? `?channel=${channel}` : ''}`)
  })

  // A tester's personal link (invite-only access): the app or channel it opens, and each build under it.
  app.get<{ Params: { secret: string }; Querystring: { channel?: string } }>('/t/:secret', async (request, reply) => {
    const invite = await pageAccess.invite(request.params.secret)
    if (!('secret' in invite)) return pageAccess.sendRefusal(request, reply, invite, '')
    const record = await meta.getAppByBundleId(invite.grant.bundleId)
    const channel = channelParam(request.query.channel)
    const page = record && channel !== undefined ? await pageAccess.appPage(request, record, channel ?? invite.grant.channel, invite) : null
    if (!record || !page) return notFound(request, reply, 'app')
    return show(request, reply, 'app', page, '')
  })

  app.get<{ Params: { secret: string; id: string } }>('/t/:secret/:id', async (request, reply) => {
    const invite = await pageAccess.invite(request.params.secret)
    if (!('secret' in invite)) return pageAccess.sendRefusal(request, reply, invite, '')
    const build = ID.test(request.params.id) ? await meta.getBuild(request.params.id) : null
    const record = build?.bundleId === invite.grant.bundleId ? await meta.getApp(build.appId) : null
    if (!build || !record) return notFound(request, reply, 'build')
    return show(request, reply, 'build', await pageAccess.buildPage(request, record, build, invite), '')
  })
}

/** `?channel=` as given: null when absent, undefined when not a channel name (a 404). */
function channelParam(value: unknown): string | null | undefined {
  if (value === undefined) return null
  return typeof value === 'string' && isChannelName(value) ? value : undefined
}
