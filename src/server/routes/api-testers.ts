import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { ErrorBody } from '../schemas/builds.ts'
import { IdParam, NewTesterBody, Tester, TesterPatchBody } from '../schemas/notifications.ts'

/** Testers: who gets mail (and texts) about new builds of the apps they follow. */
export async function apiTestersRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const store = services.notifications.store
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }

  app.get('/api/v1/testers', { schema: { tags: ['notifications'], response: { 200: Type.Object({ testers: Type.Array(Tester) }), 401: ErrorBody } } }, async () => ({
    testers: await store.listTesters(),
  }))

  app.post('/api/v1/testers', { schema: { tags: ['notifications'], body: NewTesterBody, response: { 201: Tester, 409: ErrorBody, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await store.createTester(request.body)),
  )

  app.get('/api/v1/testers/:id', { schema: { tags: ['notifications'], params: IdParam, response: { 200: Tester, ...errors } } }, async (request) => {
    const tester = await store.getTester(request.params.id)
    if (!tester) throw new AirstripError('tester-not-found')
    return tester
  })

  app.patch('/api/v1/testers/:id', { schema: { tags: ['notifications'], params: IdParam, body: TesterPatchBody, response: { 200: Tester, 409: ErrorBody, ...errors } } }, async (request) => {
    const tester = await store.updateTester(request.params.id, request.body)
    if (!tester) throw new AirstripError('tester-not-found')
    return tester
  })

  app.delete('/api/v1/testers/:id', { schema: { tags: ['notifications'], params: IdParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    if (!(await store.deleteTester(request.params.id))) throw new AirstripError('tester-not-found')
    return reply.code(204).send(null)
  })
}
