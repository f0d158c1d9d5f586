import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import { AirstripError } from '../errors.ts'

/** preHandler for the API: `Authorization: Bearer <token>`; only the token's hash is stored. */
export function requireApiToken(services: Services) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S{1,512})$/i.exec(header) : null
    if (!match?.[1]) throw new AirstripError('unauthorized')
    const token = await services.meta.verifyApiToken(match[1])
    if (!token) throw new AirstripError('unauthorized', 'the API token is unknown or revoked')
  }
}
