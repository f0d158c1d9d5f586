import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import type { TokenPurpose } from '../../ota/url-token.ts'
import type { GrantRecord } from '../../store/access.ts'
import type { BuildRecord } from '../../store/records.ts'
import { createManifestCache } from '../manifest-cache.ts'
import { sendBlob } from '../send-blob.ts'
import { createVerifiedTokens } from '../verified-tokens.ts'

const TokenParams = Type.Object({ token: Type.String({ maxLength: 512 }) })
const FileParams = Type.Object({ token: Type.String({ maxLength: 512 }), file: Type.String({ maxLength: 300 }) })

/**
 * What iOS's installer fetches: manifest, .ipa and icon. No cookies arrive here, so the signed,
 * expiring token in the path is the only credential; errors are short plain text.
 */
export async function installAssetsRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()

  // Links are fetched again and again: a token verified once skips the HMAC after (src/server/verified-tokens.ts).
  const tokens = createVerifiedTokens(services.signer, services.now)
  const buildFor = async (token: string, purpose: TokenPurpose): Promise<{ build: BuildRecord; grant: GrantRecord | null }> => {
    const { subject, grant } = tokens.verify(token, purpose)
    const build = await services.meta.getBuild(subject)
    if (!build) throw new AirstripError('build-not-found', 'this build has been deleted')
    // Minted under an access grant (src/channels): works only while the grant still opens the build.
    return { build, grant: grant ? await services.access.requireGrant(grant, build) : null }
  }

  const manifests = createManifestCache(services)
  app.get('/m/:token/manifest.plist', { schema: { params: TokenParams } }, async (request, reply) => {
    const { subject, grant, expiresAt } = tokens.verify(request.params.token, 'manifest')
    // Under a grant: checked, and made for that grant (never from the shared cache).
    const granted = grant ? await buildFor(request.params.token, 'manifest') : null
    const body = granted ? services.access.grantManifest(granted.build, grant!, expiresAt) : await manifests.body(subject)
    services.analytics.manifestFetched(subject, granted?.grant ?? null)
    return reply.type('text/xml; charset=utf-8').header('cache-control', 'no-store').send(body)
  })

  app.get('/d/:token/:file', { schema: { params: FileParams } }, async (request, reply) => {
    const { build, grant } = await buildFor(request.params.token, 'ipa')
    const onSent = request.method === 'GET' ? services.analytics.downloadStarted({ token: request.params.token, client: request.ip, userAgent: request.headers['user-agent'] ?? '', build, grant }) : undefined
    return sendBlob(request, reply, { sha256: build.sha256, size: build.size, lastModified: new Date(build.createdAt), contentType: 'application/octet-stream', onSent }, services.blobs)
  })

  app.get('/icon/:file', { schema: { params: Type.Object({ file: Type.String({ maxLength: 520 }) }) } }, async (request, reply) => {
    const { build } = await buildFor(request.params.file.replace(/\.png$/, ''), 'icon')
    if (!build.iconSha256) throw new AirstripError('not-found', 'this build has no icon')
    const stat = await services.blobs.stat(build.iconSha256)
    if (!stat) throw new AirstripError('not-found', 'the icon is missing from storage')
    return sendBlob(request, reply, { sha256: build.iconSha256, size: stat.size, lastModified: new Date(build.createdAt), contentType: 'image/png' }, services.blobs)
  })
}
