import type { Services } from '../app.ts'
import { itmsServicesUrl } from '../ota/itms-link.ts'
import { ipaFileName } from '../ota/public-urls.ts'
import type { BuildRecord } from '../store/records.ts'

export interface BuildLinks {
  installPageUrl: string
  manifestUrl: string
  ipaUrl: string
  iconUrl: string | null
  itmsServicesUrl: string
  expiresAt: string
}

/**
 * Fresh signed links for one build: minted at every page render or API answer, so a link that
 * leaked expires on its own (iOS's installer sends no cookies: the token in the path is the auth).
 */
export function mintBuildLinks(services: Services, build: BuildRecord): BuildLinks {
  const { signer, urls, config } = services
  const ttlSeconds = config.linkTtlSeconds
  const manifestUrl = urls.manifest(signer.sign({ purpose: 'manifest', subject: build.id, ttlSeconds }))
  return {
    installPageUrl: urls.installPage(build.id),
    manifestUrl,
    ipaUrl: urls.ipa(signer.sign({ purpose: 'ipa', subject: build.id, ttlSeconds }), ipaFileName(build.name, build.version)),
    iconUrl: build.iconSha256 ? urls.icon(signer.sign({ purpose: 'icon', subject: build.id, ttlSeconds })) : null,
    itmsServicesUrl: itmsServicesUrl(manifestUrl, { allowHttp: config.tls.mode === 'insecure-http' }),
    expiresAt: new Date(services.now().getTime() + ttlSeconds * 1000).toISOString(),
  }
}
