import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { ingestStagedBuild, stageUpload, type IngestDeps } from '../../builds/ingest-build.ts'
import { parseReleaseNotes, RELEASE_NOTES_MAX } from '../../builds/release-notes-edit.ts'
import { parseChannelName } from '../../access/channel-name.ts'
import { AirstripError } from '../../errors.ts'
import type { StagedBlob } from '../../store/blob-store.ts'
import { adminBase } from '../../web/admin-views.ts'
import { parseNotifyField } from '../schemas/notifications.ts'
import { activeSession, checkCsrf, requirePermission } from '../session-auth.ts'
import { pageLayout, sendAdminPage } from './admin.ts'

/**
 * Uploading from the browser. The page is a plain multipart form (works without JavaScript);
 * admin.js turns it into a drop zone that sends the same form with XMLHttpRequest and shows the
 * upload's real progress (`xhr.upload.onprogress`), asking for JSON back. Same staging and
 * inspection as POST /api/v1/builds; the session and its CSRF token stand in for the API token.
 */
export async function adminUploadRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const base = adminBase(services)
  const deps: IngestDeps = { blobs: services.blobs, meta: services.meta, now: services.now, maxUploadBytes: services.config.maxUploadBytes }
  await app.register(multipart, { limits: { fileSize: services.config.maxUploadBytes, files: 1, fields: 10, fieldSize: RELEASE_NOTES_MAX * 4, parts: 20 } })

  app.get('/admin/upload', { preHandler: requirePermission('manage') }, async (request, reply) => {
    const apps = await services.meta.listApps()
    const channelNames = new Set(['main'])
    for (const a of apps) for (const c of await services.access.channels.listChannels(a.bundleId)) channelNames.add(c.name)
    return sendAdminPage(reply, 'upload', {
      layout: pageLayout(services, request, 'Upload a build', 'apps'),
      action: `${base}/upload`,
      maxBytes: services.config.maxUploadBytes,
      apps: apps.map((a) => ({ name: a.name, bundleId: a.bundleId })),
      channelNames: [...channelNames].sort(),
    })
  })

  app.post('/admin/upload', { config: { adminCsrfInHandler: true }, preHandler: requirePermission('manage') }, async (request, reply) => {
    if (!request.isMultipart()) throw new AirstripError('unsupported-media-type', 'send the form as multipart/form-data')
    const declared = Number(request.headers['content-length'])
    if (declared > services.config.maxUploadBytes + 256 * 1024) {
      reply.header('connection', 'close')
      throw new AirstripError('upload-too-large', `the upload is ${declared} bytes; this server accepts at most ${services.config.maxUploadBytes}`)
    }
    const form = await readUploadForm(request, deps)
    const { app: record, build } = await ingestStagedBuild(deps, form.staged, { fileName: form.fileName, notes: form.notes, channel: form.channel })
    request.log.info({ build: build.id, bundleId: build.bundleId, size: build.size, user: activeSession(request).user.id }, 'build uploaded in the admin UI')
    await services.notifications.buildCreated(record, build, { notify: form.notify })
    const url = `${base}/builds/${build.id}`
    if (/\bapplication\/json\b/.test(request.headers.accept ?? '')) return reply.code(201).send({ id: build.id, url, installPageUrl: services.urls.installPage(build.id) })
    return reply.redirect(url, 303)
  })
}

interface UploadForm {
  staged: StagedBlob
  fileName: string | null
  notes: string | null
  notify: boolean | undefined
  channel: string | undefined
}

/**
 * Reads the form's parts in order. The CSRF token (header `X-CSRF-Token`, or the `_csrf` field,
 * which the form puts first) must be valid before a byte of the file is staged.
 */
async function readUploadForm(request: FastifyRequest, deps: IngestDeps): Promise<UploadForm> {
  let csrfChecked = false
  if (typeof request.headers['x-csrf-token'] === 'string') {
    checkCsrf(request, request.headers['x-csrf-token'])
    csrfChecked = true
  }
  let staged: StagedBlob | undefined
  let fileName: string | null = null
  let notes: string | null = null
  let notify: boolean | undefined
  let channel: string | undefined
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (!csrfChecked) throw new AirstripError('csrf-invalid')
        if (part.fieldname !== 'file' || staged) throw new AirstripError('bad-request', 'send exactly one file, in the field "file"')
        fileName = part.filename ? part.filename.slice(0, 255) : null
        staged = await stageUpload(deps, part.file)
      } else if (part.fieldname === '_csrf') {
        checkCsrf(request, part.value)
        csrfChecked = true
      } else if (part.fieldname === 'notes') {
        // The field cap (4 bytes a character) is above the notes cap: a truncated field is too long notes.
        if (part.valueTruncated) throw new AirstripError('release-notes-too-long')
        // The one rule for notes (CRLF from a textarea → LF, control characters refused), as edits use.
        notes = parseReleaseNotes(String(part.value))
      } else if (part.fieldname === 'channel') {
        channel = String(part.value).trim() === '' ? undefined : parseChannelName(String(part.value))
      } else if (part.fieldname === 'notify') {
        // Empty: "as the app is set up" (its notifyOnUpload default).
        notify = String(part.value).trim() === '' ? undefined : parseNotifyField(String(part.value))
      }
    }
    if (!csrfChecked) throw new AirstripError('csrf-invalid')
    if (!staged) throw new AirstripError('missing-file', 'choose an .ipa file to upload')
    return { staged, fileName, notes, notify, channel }
  } catch (error) {
    await staged?.discard()
    throw error
  }
}
