import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import { AirstripError } from '../errors.ts'
import type { VerifiedApiToken } from '../store/records.ts'

/** The one route an upload-only token may call. */
const UPLOAD_ROUTE = { method: 'POST', url: '/api/v1/builds' } as const

/** The token each authenticated API request presented (not a request decoration: several plugins share this check). */
const tokensByRequest = new WeakMap<FastifyRequest, VerifiedApiToken>()

/**
 * preHandler for the API: `Authorization: Bearer <token>`; only the token's hash is stored. An
 * upload-only token is refused (403 `forbidden`) everywhere but `POST /api/v1/builds`; full
 * tokens (every token made before scopes existed) reach the whole API.
 */
export function requireApiToken(services: Services) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S{1,512})$/i.exec(header) : null
    if (!match?.[1]) throw new AirstripError('unauthorized')
    const token = await services.meta.verifyApiToken(match[1])
    if (!token) throw new AirstripError('unauthorized', 'the API token is unknown or revoked')
    if (token.scope === 'upload' && !(request.method === UPLOAD_ROUTE.method && request.routeOptions.url === UPLOAD_ROUTE.url)) {
      throw new AirstripError('forbidden', 'this API token may only upload builds (POST /api/v1/builds)')
    }
    tokensByRequest.set(request, token)
  }
}

/**
 * For the upload route: a check to run once the .ipa's bundle id is known (before anything is
 * stored) that refuses another app's build when the request's token is bound to one app.
 */
export function tokenAppCheck(request: FastifyRequest): (bundleId: string) => void {
  const token = tokensByRequest.get(request)
  return (bundleId) => {
    if (token?.bundleId && token.bundleId !== bundleId) {
      throw new AirstripError('forbidden', `this API token uploads only ${token.bundleId}; the .ipa is ${bundleId}`)
    }
  }
}
