import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { editReleaseNotes } from '../../builds/release-notes-edit.ts'
import { AirstripError } from '../../errors.ts'
import { isId } from '../../store/new-id.ts'
import { adminBase } from '../../web/admin-views.ts'
import { formText } from '../admin-forms.ts'
import { requirePermission } from '../session-auth.ts'

/**
 * "Edit release notes" on a build's admin page: a plain POST (CSRF checked by the admin plugin's
 * session hook; developers and admins only). The text's own checks (cap, control characters) are
 * `parseReleaseNotes`'s, so the form and `PATCH /api/v1/builds/:id` refuse the same things.
 */
export async function adminBuildNotesRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const base = adminBase(services)

  app.post<{ Params: { id: string } }>('/admin/builds/:id/notes', { preHandler: requirePermission('manage') }, async (request, reply) => {
    if (!isId(request.params.id)) throw new AirstripError('build-not-found')
    // No length cap of its own (the form body limit bounds it): an over-long text gets the notes' own 413 code.
    const text = formText(request.body, 'notes', { max: Number.MAX_SAFE_INTEGER, trim: false })
    const build = await editReleaseNotes(services.meta, request.params.id, text)
    request.log.info({ build: build.id }, 'release notes edited in the admin UI')
    return reply.redirect(`${base}/builds/${build.id}`, 303)
  })
}
