import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'

/** Liveness for load balancers and `airstrip doctor`. */
export async function healthRoutes(app: FastifyInstance, _options: { services: Services }): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))
}
