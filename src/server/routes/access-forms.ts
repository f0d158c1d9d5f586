import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { isChannelName } from '../../access/channel-name.ts'
import { MAX_PASSWORD_LENGTH } from '../../access/password-hash.ts'
import { isAirstripError } from '../../errors.ts'
import { createPageAccess } from '../access-pages.ts'

/** A password form is two short fields. */
const FORM_LIMIT = 4096
const ID = /^[A-Za-z0-9_-]{1,200}$/

/**
 * The password gate's form posts (`POST /i/:id`, `POST /apps/:id`): a right password sets the
 * scope's short-lived page cookie and redirects (303) back to the page, which then mints links
 * bound to that password's grant; a wrong one answers 403 with the form again, too many 429 with
 * Retry-After. The scope comes from the form but must be a password scope of the page's own app.
 */
export async function accessFormsRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const pageAccess = createPageAccess(services)
  // Encapsulated in this plugin: the rest of Airstrip takes no urlencoded bodies.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  const unlock = async (request: FastifyRequest, reply: FastifyReply, bundleId: string, pageUrl: string): Promise<FastifyReply> => {
    // A post from another site is not this page's form. Origin is "null" here (pages send no
    // referrer), so Sec-Fetch-Site decides where browsers send it; a real foreign Origin also refuses.
    const site = request.headers['sec-fetch-site']
    const origin = request.headers.origin
    if ((site !== undefined && site !== 'same-origin' && site !== 'none') || (origin !== undefined && origin !== 'null' && origin !== services.urls.origin)) return pageAccess.sendRefusal(request, reply, { kind: 'denied', status: 403, message: 'This form was sent from another site.' }, pageUrl)
    const body = (request.body ?? {}) as Record<string, unknown>
    const channel = typeof body['scope'] === 'string' && body['scope'] !== '' ? body['scope'] : null
    const password = typeof body['password'] === 'string' ? body['password'].slice(0, MAX_PASSWORD_LENGTH + 1) : ''
    const scope = { bundleId, channel }
    const mode = channel === null ? await services.access.channels.getAppAccess(bundleId) : channel && isChannelName(channel) ? (await services.access.channels.getChannel(bundleId, channel))?.access : undefined
    // Not (or no longer) a password scope of this app: back to the page, which shows what applies now.
    if (mode !== 'password') return reply.code(303).header('location', pageUrl).header('cache-control', 'no-store').send()
    try {
      const { setCookie } = await services.access.unlock(scope, password, request.ip)
      return reply.code(303).header('set-cookie', setCookie).header('location', pageUrl).header('cache-control', 'no-store').send()
    } catch (error) {
      if (isAirstripError(error, 'too-many-attempts')) {
        reply.header('retry-after', String(error.details?.['retryAfter'] ?? 60))
        return pageAccess.sendRefusal(request, reply, { kind: 'password', scope, error: error.message, status: 429 }, pageUrl)
      }
      if (isAirstripError(error, 'access-denied')) return pageAccess.sendRefusal(request, reply, { kind: 'password', scope, error: 'Wrong password. Try again.', status: 403 }, pageUrl)
      throw error
    }
  }

  app.post<{ Params: { id: string } }>('/i/:id', async (request, reply) => {
    const build = ID.test(request.params.id) ? await services.meta.getBuild(request.params.id) : null
    if (!build) return reply.code(303).header('location', services.urls.home()).send()
    return unlock(request, reply, build.bundleId, services.urls.installPage(build.id))
  })

  app.post<{ Params: { id: string }; Querystring: { channel?: string } }>('/apps/:id', async (request, reply) => {
    const record = ID.test(request.params.id) ? await services.meta.getApp(request.params.id) : null
    if (!record) return reply.code(303).header('location', services.urls.home()).send()
    const channel = typeof request.query.channel === 'string' && isChannelName(request.query.channel) ? request.query.channel : null
    return unlock(request, reply, record.bundleId, `${services.urls.appPage(record.id)}${channel ? `?channel=${channel}` : ''}`)
  })
}
