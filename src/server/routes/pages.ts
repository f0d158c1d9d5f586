import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { detectClient } from '../../ota/client-detection.ts'
import { installPageModel } from '../../ota/install-page.ts'
import { qrCodeSvg } from '../../ota/qr-code.ts'
import type { AppRecord, BuildRecord } from '../../store/records.ts'
import { appListItem, installView, layoutView, type HomeView, type NotFoundView } from '../../web/page-views.ts'
import { renderPage, type PageName } from '../../web/render.ts'
import { mintBuildLinks } from '../build-links.ts'

/** Ids as `newId` makes them; anything else is a 404 without touching the database. */
const ID = /^[A-Za-z0-9_-]{1,200}$/
/** Versions listed under a build (newest first). */
const HISTORY_LIMIT = 50

/**
 * The HTML pages testers open: `/` (the apps), `/apps/:id` (an app's latest build and its
 * versions) and `/i/:id` (one build). Server-rendered per visitor (the User-Agent decides between
 * Install button, QR code and "open in Safari"), with freshly minted signed links every time, so
 * they are never cached. Unknown ids get a friendly HTML 404, not the API's JSON.
 */
export async function pagesRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { meta, urls } = services

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

  const renderInstall = async (
    request: FastifyRequest,
    reply: FastifyReply,
    input: { kind: 'app' | 'build'; app: AppRecord; build: BuildRecord; history: BuildRecord[]; pageUrl: string },
  ): Promise<FastifyReply> => {
    const links = mintBuildLinks(services, input.build)
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
    })
    const qrSvg = model.showQr ? await qrCodeSvg(model.qrText) : null
    return send(reply, 200, 'install', installView(services, { nonce: request.cspNonce, kind: input.kind, model, qrSvg, appId: input.app.id }))
  }

  app.get('/', async (request, reply) => {
    const apps = await meta.listApps()
    const items = await Promise.all(
      apps.map(async (summary) => {
        const latest = summary.latestBuildId ? await meta.getBuild(summary.latestBuildId) : null
        return appListItem(services, summary, latest ? mintBuildLinks(services, latest).iconUrl : null)
      }),
    )
    const view: HomeView = { layout: layoutView(services, request.cspNonce, 'Apps · Airstrip'), apps: items, apiDocsUrl: urls.api('docs') }
    return send(reply, 200, 'home', view)
  })

  app.get<{ Params: { id: string } }>('/i/:id', async (request, reply) => {
    const { id } = request.params
    const build = ID.test(id) ? await meta.getBuild(id) : null
    const record = build ? await meta.getApp(build.appId) : null
    if (!build || !record) return notFound(request, reply, 'build')
    const { builds } = await meta.listBuilds({ appId: record.id, limit: HISTORY_LIMIT })
    return renderInstall(request, reply, { kind: 'build', app: record, build, history: builds, pageUrl: urls.installPage(build.id) })
  })

  app.get<{ Params: { id: string } }>('/apps/:id', async (request, reply) => {
    const { id } = request.params
    const record = ID.test(id) ? await meta.getApp(id) : null
    const { builds } = record ? await meta.listBuilds({ appId: record.id, limit: HISTORY_LIMIT }) : { builds: [] }
    const latest = builds[0]
    if (!record || !latest) return notFound(request, reply, 'app')
    return renderInstall(request, reply, { kind: 'app', app: record, build: latest, history: builds, pageUrl: urls.appPage(record.id) })
  })
}
