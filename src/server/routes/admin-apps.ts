import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { deleteBuild } from '../../builds/ingest-build.ts'
import { AirstripError } from '../../errors.ts'
import { isId } from '../../store/new-id.ts'
import { adminAppRow, adminBuildDetail, adminBuildRow } from '../../web/admin-build-views.ts'
import { appChannelsView } from '../../web/admin-channel-views.ts'
import { adminBase } from '../../web/admin-views.ts'
import { formFlag } from '../admin-forms.ts'
import { createSelfDiagnosis } from '../self-diagnosis.ts'
import { requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

/** Builds an app page lists (newest first). */
const BUILDS_PER_PAGE = 100

/** Apps → builds → a build's details (inspect's findings, doctor's checks), and deleting a build. */
export async function adminAppsRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { meta } = services
  const base = adminBase(services)

  const buildOr404 = async (id: string) => {
    const build = isId(id) ? await meta.getBuild(id) : null
    if (!build) throw new AirstripError('build-not-found')
    return build
  }

  app.get('/admin', async (request, reply) => {
    const apps = await meta.listApps()
    const rows = await Promise.all(apps.map(async (summary) => adminAppRow(services, summary, summary.latestBuildId ? await meta.getBuild(summary.latestBuildId) : null)))
    return sendAdminPage(reply, 'apps', { layout: pageLayout(services, request, 'Apps', 'apps'), apps: rows, uploadUrl: `${base}/upload` })
  })

  app.get<{ Params: { id: string } }>('/admin/apps/:id', async (request, reply) => {
    const record = isId(request.params.id) ? await meta.getApp(request.params.id) : null
    if (!record) throw new AirstripError('app-not-found')
    const { builds } = await meta.listBuilds({ appId: record.id, limit: BUILDS_PER_PAGE })
    const latest = builds[0] ?? null
    return sendAdminPage(reply, 'app', {
      layout: pageLayout(services, request, record.name, 'apps'),
      app: { ...adminAppRow(services, { ...record, buildCount: builds.length, latestBuildId: latest?.id ?? null, latestVersion: latest?.version ?? null, latestBuild: latest?.build ?? null }, latest), id: record.id },
      installPageUrl: services.urls.appPage(record.id),
      builds: builds.map((build) => adminBuildRow(services, build)),
      uploadUrl: `${base}/upload`,
      channels: await appChannelsView(services, record),
    })
  })

  app.get<{ Params: { id: string } }>('/admin/builds/:id', async (request, reply) => {
    const build = await buildOr404(request.params.id)
    const [installs, channels] = await Promise.all([services.analytics.store.buildCounts(build.id), services.access.channels.listChannels(build.bundleId)])
    return sendAdminPage(reply, 'build', {
      layout: pageLayout(services, request, `${build.name} ${build.version ?? ''}`, 'apps'),
      build: adminBuildDetail(services, build),
      installs: { totals: installs.totals, testers: installs.testers.map((t) => ({ ...t, name: t.name ? `${t.name} <${t.email}>` : 'a deleted tester' })) },
      channelNames: channels.map((c) => c.name),
      keepUrl: `${base}/builds/${build.id}/keep`,
      channelUrl: `${base}/builds/${build.id}/channel`,
    })
  })

  app.post<{ Params: { id: string } }>('/admin/builds/:id/delete', { preHandler: requirePermission('manage') }, async (request, reply) => {
    if (!formFlag(request.body, 'confirm')) throw new AirstripError('bad-request', 'tick "Yes, delete this build" to confirm')
    const deleted = await deleteBuild({ blobs: services.blobs, meta }, request.params.id)
    if (!deleted) throw new AirstripError('build-not-found')
    request.log.info({ build: deleted.id }, 'build deleted in the admin UI')
    await services.notifications.buildDeleted(deleted)
    const appLeft = await meta.getApp(deleted.appId)
    return reply.redirect(appLeft ? `${base}/apps/${appLeft.id}` : base, 303)
  })

  const selfDiagnose = createSelfDiagnosis(services)
  app.get<{ Params: { id: string } }>('/admin/builds/:id/doctor', async (request, reply) => {
    const build = await buildOr404(request.params.id)
    const report = await selfDiagnose(request, build)
    const counts = { fail: 0, warn: 0, pass: 0, skip: 0 }
    for (const check of report.checks) counts[check.status]++
    return sendAdminPage(reply, 'doctor', {
      layout: pageLayout(services, request, `Doctor · ${build.name}`, 'apps'),
      build: adminBuildRow(services, build),
      name: build.name,
      buildUrl: `${base}/builds/${build.id}`,
      target: report.target,
      unreachable: report.targetUnreachable,
      counts,
      checks: report.checks.filter((c) => c.status !== 'pass').concat(report.checks.filter((c) => c.status === 'pass')),
    })
  })
}
