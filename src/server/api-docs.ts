import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/** OpenAPI document at /api/openapi.json (from the routes' TypeBox schemas) and browsable docs at /api/docs. */
export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'Airstrip API', version: '1', description: 'Upload iOS builds from CI and get install links.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'token from `airstrip token create`' } } },
      security: [{ bearer: [] }],
    },
    hideUntagged: true,
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true })
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
