import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Readable } from 'node:stream'
import type { Services } from '../../app.ts'
import { deleteBuild, ingestStagedBuild, stageUpload, type IngestDeps } from '../../builds/ingest-build.ts'
import { parseReleaseNotes } from '../../builds/release-notes-edit.ts'
import { AirstripError } from '../../errors.ts'
import type { StagedBlob } from '../../store/blob-store.ts'
import { requireApiToken, tokenAppCheck } from '../api-auth.ts'
import { summarizeBuild } from '../build-summary.ts'
import { ErrorBody, IdParams, ListQuery, UploadQuery } from '../schemas/builds.ts'
import { ChannelledBuildList, ChannelledBuildSummary, ChannelQuery } from '../schemas/channels.ts'
import { parseChannelName } from '../../access/channel-name.ts'
import { NotifyQuery, parseNotifyField } from '../schemas/notifications.ts'
import { apiTokenOwner, withUploadKey } from '../upload-idempotency.ts'

/** CI's API: upload, list, show and delete builds. */
export async function apiBuildsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const deps: IngestDeps = { blobs: services.blobs, meta: services.meta, now: services.now, maxUploadBytes: services.config.maxUploadBytes }
  await app.register(multipart, { limits: { fileSize: services.config.maxUploadBytes, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 20 } })
  // A raw body is handed over as the request stream itself: never buffered, capped while staging.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 401: ErrorBody, 404: ErrorBody }

  app.post(
    '/api/v1/builds',
    {
      schema: {
        tags: ['builds'],
        summary: 'Upload an .ipa (multipart field "file", optional "notes", "notify" and "channel"; or a raw application/octet-stream body with ?notes=&notify=&channel=)',
        consumes: ['multipart/form-data', 'application/octet-stream'],
        querystring: Type.Composite([UploadQuery, NotifyQuery, ChannelQuery]),
        response: { 201: ChannelledBuildSummary, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody, 422: ErrorBody },
      },
    },
    // An Idempotency-Key header makes a retried upload answer with its first build (src/server/upload-idempotency.ts).
    async (request, reply) => withUploadKey(services.uploadKeys, apiTokenOwner, request, reply, async (uploadKey) => {
      const declared = Number(request.headers['content-length'])
      if (declared > services.config.maxUploadBytes + (request.isMultipart() ? 64 * 1024 : 0)) {
        // Refuse before reading: the client gets its 413 instead of a reset connection.
        reply.header('connection', 'close')
        throw new AirstripError('upload-too-large', `the upload is ${declared} bytes; this server accepts at most ${services.config.maxUploadBytes}`)
      }
      let staged: StagedBlob | undefined
      // Notes follow the one rule for notes (parseReleaseNotes), checked as soon as they arrive: a refusal stores nothing.
      let notes = parseReleaseNotes(request.query.notes ?? null)
      let fileName = request.query.fileName ?? null
      let notify = request.query.notify
      let channel = request.query.channel === undefined ? undefined : parseChannelName(request.query.channel)
      try {
        if (request.isMultipart()) {
          for await (const part of request.parts()) {
            if (part.type === 'file') {
              if (part.fieldname !== 'file' || staged) throw new AirstripError('bad-request', 'send exactly one file, in the field "file"')
              fileName = part.filename || fileName
              staged = await stageUpload(deps, part.file)
            } else if (part.fieldname === 'notes') {
              // Over the field size cap is over the notes cap too (64 KiB is more than 20,000 characters can take).
              if (part.valueTruncated) throw new AirstripError('release-notes-too-long')
              notes = parseReleaseNotes(String(part.value))
            } else if (part.fieldname === 'notify') {
              notify = parseNotifyField(String(part.value))
            } else if (part.fieldname === 'channel') {
              channel = parseChannelName(String(part.value))
            }
          }
        } else if (request.body && typeof (request.body as Readable).pipe === 'function') {
          staged = await stageUpload(deps, request.body as Readable)
        } else {
          throw new AirstripError('unsupported-media-type')
        }
        if (!staged) throw new AirstripError('missing-file')
      } catch (error) {
        await staged?.discard()
        throw error
      }
      if (await uploadKey.replayed(staged)) return reply
      const { app: record, build } = await ingestStagedBuild(deps, staged, { fileName, notes, accept: tokenAppCheck(request), channel })
      request.log.info({ build: build.id, bundleId: build.bundleId, size: build.size }, 'build uploaded')
      // Recorded in the outbox (never throws); sent in the background.
      await services.notifications.buildCreated(record, build, { notify })
      return uploadKey.send(201, { ...summarizeBuild(services, record, build), channel: build.channel, keep: build.keep }, build)
    }),
  )

  app.get('/api/v1/builds', { schema: { tags: ['builds'], querystring: ListQuery, response: { 200: ChannelledBuildList, ...errors } } }, async (request) => {
    const { builds, nextCursor } = await services.meta.listBuilds({ appId: request.query.appId, limit: request.query.limit ?? 50, cursor: request.query.cursor })
    const apps = new Map<string, { id: string; bundleId: string; name: string }>()
    const summaries = []
    for (const build of builds) {
      let record = apps.get(build.appId)
      if (!record) {
        record = (await services.meta.getApp(build.appId)) ?? { id: build.appId, bundleId: build.bundleId, name: build.name }
        apps.set(build.appId, record)
      }
      summaries.push({ ...summarizeBuild(services, record, build), channel: build.channel, keep: build.keep })
    }
    return { builds: summaries, nextCursor }
  })

  app.get('/api/v1/builds/:id', { schema: { tags: ['builds'], params: IdParams, response: { 200: ChannelledBuildSummary, ...errors } } }, async (request) => {
    const build = await services.meta.getBuild(request.params.id)
    if (!build) throw new AirstripError('build-not-found')
    const record = await services.meta.getApp(build.appId)
    if (!record) throw new AirstripError('app-not-found')
    return { ...summarizeBuild(services, record, build), channel: build.channel, keep: build.keep }
  })

  app.delete('/api/v1/builds/:id', { schema: { tags: ['builds'], params: IdParams, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    const build = await deleteBuild(deps, request.params.id)
    if (!build) throw new AirstripError('build-not-found')
    await services.notifications.buildDeleted(build)
    return reply.code(204).send(null)
  })
}
