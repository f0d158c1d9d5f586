import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { ErrorBody } from '../schemas/builds.ts'
import { Group, GroupMemberParams, IdParam, NewGroupBody } from '../schemas/notifications.ts'

/** Groups of testers ("QA", "Beta customers"): an app can follow a whole group. */
export async function apiGroupsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const store = services.notifications.store
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }

  app.get('/api/v1/groups', { schema: { tags: ['notifications'], response: { 200: Type.Object({ groups: Type.Array(Group) }), 401: ErrorBody } } }, async () => ({
    groups: await store.listGroups(),
  }))

  app.post('/api/v1/groups', { schema: { tags: ['notifications'], body: NewGroupBody, response: { 201: Group, 409: ErrorBody, ...errors } } }, async (request, reply) =>
    reply.code(201).send(await store.createGroup(request.body.name)),
  )

  app.get('/api/v1/groups/:id', { schema: { tags: ['notifications'], params: IdParam, response: { 200: Group, ...errors } } }, async (request) => {
    const group = await store.getGroup(request.params.id)
    if (!group) throw new AirstripError('group-not-found')
    return group
  })

  app.patch('/api/v1/groups/:id', { schema: { tags: ['notifications'], params: IdParam, body: NewGroupBody, response: { 200: Group, 409: ErrorBody, ...errors } } }, async (request) => {
    const group = await store.renameGroup(request.params.id, request.body.name)
    if (!group) throw new AirstripError('group-not-found')
    return group
  })

  app.delete('/api/v1/groups/:id', { schema: { tags: ['notifications'], params: IdParam, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    if (!(await store.deleteGroup(request.params.id))) throw new AirstripError('group-not-found')
    return reply.code(204).send(null)
  })

  const member = { tags: ['notifications'], params: GroupMemberParams, response: { 200: Group, ...errors } }
  app.put('/api/v1/groups/:id/members/:testerId', { schema: { ...member, summary: 'add a tester to the group (idempotent)' } }, async (request) =>
    store.setGroupMember(request.params.id, request.params.testerId, true),
  )
  app.delete('/api/v1/groups/:id/members/:testerId', { schema: { ...member, summary: 'remove a tester from the group' } }, async (request) =>
    store.setGroupMember(request.params.id, request.params.testerId, false),
  )
}
