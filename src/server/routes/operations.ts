import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { requireApiToken } from '../api-auth.ts'

/**
 * For load balancers and monitoring: `/readyz` (200 ready / 503 not, with every check and any
 * warning, such as a failing certificate renewal) and `/metrics` in Prometheus' text format,
 * behind an API token (scrape with `authorization: { credentials: <token> }`).
 */
export async function operationsRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  app.get('/readyz', async (_request, reply) => {
    const report = await services.ops.readiness()
    return reply
      .code(report.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: report.ready ? 'ready' : 'not-ready', checks: report.checks, warnings: report.warnings })
  })

  app.get('/metrics', { preHandler: requireApiToken(services) }, async (_request, reply) => {
    const { registry } = services.ops.metrics
    return reply.header('cache-control', 'no-store').type(registry.contentType).send(await registry.metrics())
  })
}
