import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import type { TokenPurpose } from '../../ota/url-token.ts'
import type { BuildRecord } from '../../store/records.ts'
import { createManifestCache } from '../manifest-cache.ts'
import { sendBlob } from '../send-blob.ts'

const TokenParams = Type.Object({ token: Type.String({ maxLength: 512 }) })
const FileParams = Type.Object({ token: Type.String({ maxLength: 512 }), file: Type.String({ maxLength: 300 }) })

/**
 * What iOS's installer fetches: manifest, .ipa and icon. No cookies arrive here, so the signed,
 * expiring token in the path is the only credential; errors are short plain text.
 */
export async function installAssetsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()

  const buildFor = async (token: string, purpose: TokenPurpose): Promise<BuildRecord> => {
    const { subject } = services.signer.verify(token, purpose)
    const build = await services.meta.getBuild(subject)
    if (!build) throw new AirstripError('build-not-found', 'this build has been deleted')
    return build
  }

  const manifests = createManifestCache(services)
  app.get('/m/:token/manifest.plist', { schema: { params: TokenParams } }, async (request, reply) => {
    const { subject } = services.signer.verify(request.params.token, 'manifest')
    const body = await manifests.body(subject)
    return reply.type('text/xml; charset=utf-8').header('cache-control', 'no-store').send(body)
  })

  app.get('/d/:token/:file', { schema: { params: FileParams } }, async (request, reply) => {
    const build = await buildFor(request.params.token, 'ipa')
    return sendBlob(request, reply, { sha256: build.sha256, size: build.size, lastModified: new Date(build.createdAt), contentType: 'application/octet-stream' }, services.blobs)
  })

  app.get('/icon/:file', { schema: { params: Type.Object({ file: Type.String({ maxLength: 520 }) }) } }, async (request, reply) => {
    const build = await buildFor(request.params.file.replace(/\.png$/, ''), 'icon')
    if (!build.iconSha256) throw new AirstripError('not-found', 'this build has no icon')
    const stat = await services.blobs.stat(build.iconSha256)
    if (!stat) throw new AirstripError('not-found', 'the icon is missing from storage')
    return sendBlob(request, reply, { sha256: build.iconSha256, size: stat.size, lastModified: new Date(build.createdAt), contentType: 'image/png' }, services.blobs)
  })
}
