import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { AppSummary, ErrorBody, IdParams } from '../schemas/builds.ts'

/** Apps: one per bundle id, created by the first upload. */
export async function apiAppsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('preHandler', requireApiToken(services))

  const summarize = (a: Awaited<ReturnType<Services['meta']['listApps']>>[number]) => ({
    id: a.id,
    bundleId: a.bundleId,
    name: a.name,
    buildCount: a.buildCount,
    latestBuildId: a.latestBuildId,
    latestVersion: a.latestVersion,
    appPageUrl: services.urls.appPage(a.id),
    updatedAt: a.updatedAt,
  })

  app.get('/api/v1/apps', { schema: { tags: ['apps'], response: { 200: Type.Object({ apps: Type.Array(AppSummary) }), 401: ErrorBody } } }, async () => ({
    apps: (await services.meta.listApps()).map(summarize),
  }))

  app.get('/api/v1/apps/:id', { schema: { tags: ['apps'], params: IdParams, response: { 200: AppSummary, 401: ErrorBody, 404: ErrorBody } } }, async (request) => {
    const found = (await services.meta.listApps()).find((a) => a.id === request.params.id)
    if (!found) throw new AirstripError('app-not-found')
    return summarize(found)
  })
}
