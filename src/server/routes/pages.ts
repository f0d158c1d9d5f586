import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'

/** Install pages (placeholder until the page templates land). */
export async function pagesRoutes(_app: FastifyInstance, _options: { services: Services }): Promise<void> {}
