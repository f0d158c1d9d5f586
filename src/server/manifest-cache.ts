import type { Services } from '../app.ts'
import { onBuildDeleted } from '../builds/ingest-build.ts'
import { AirstripError } from '../errors.ts'
import { manifestOfBuild } from '../ota/manifest.ts'
import { ipaFileName } from '../ota/public-urls.ts'
import type { TokenPurpose } from '../ota/url-token.ts'

/** Builds whose manifest is kept at most; the one cached longest ago goes first. ~1–10 KB each. */
const MAX_ENTRIES = 512

/** The longest a cached manifest is served (and so the most its links lose of their lifetime). */
const MAX_WINDOW_SECONDS = 60

/** The manifest bodies served at `/m/<token>/manifest.plist`, per build. */
export interface ManifestCache {
  /**
   * The manifest of this build as it should be served now; `build-not-found` once it is deleted.
   * A string: Node writes a string body with the headers in one piece (a Buffer goes as a second
   * chunk through writev, measurably slower per request).
   */
  body(buildId: string): Promise<string>
}

/**
 * The window a link minted at `nowMs` belongs to: `min(60 s, ttl / 10)` wide, at least 1 s. Links
 * minted for the window are issued at its start, so they expire `ttlSeconds` after it: never later
 * than `ttlSeconds` from the moment they are served, and at most one window earlier.
 */
export function linkWindow(nowMs: number, ttlSeconds: number): { index: number; issuedAt: Date } {
  const windowMs = Math.min(MAX_WINDOW_SECONDS, Math.max(1, Math.floor(ttlSeconds / 10))) * 1000
  const index = Math.floor(nowMs / windowMs)
  return { index, issuedAt: new Date(index * windowMs) }
}

/**
 * Manifests are requested far more often than anything else and are the same for everyone within a
 * link window: this keeps each build's serialised manifest (signed .ipa and icon links inside) for
 * the current window, so a request costs a token check and a map lookup — no SQL, no JSON parsing
 * of the build, no plist serialising, no signing. Concurrent misses share one rendering. A build
 * deleted through `deleteBuild` is forgotten at once; one deleted by another process is served at
 * most until the window ends (its .ipa link answers 404 meanwhile).
 */
export function createManifestCache(services: Pick<Services, 'meta' | 'signer' | 'urls' | 'config' | 'now' | 'ipaUrl'>): ManifestCache {
  const entries = new Map<string, { window: number; body: Promise<string> }>()
  onBuildDeleted(services.meta, (buildId) => entries.delete(buildId))

  const render = async (buildId: string, issuedAt: Date): Promise<string> => {
    const build = await services.meta.getBuild(buildId)
    if (!build) throw new AirstripError('build-not-found', 'this build has been deleted')
    const ttlSeconds = services.config.linkTtlSeconds
    const sign = (purpose: TokenPurpose): string => services.signer.sign({ purpose, subject: build.id, ttlSeconds, issuedAt })
    const signedIpaUrl = services.urls.ipa(sign('ipa'), ipaFileName(build.name, build.version))
    return manifestOfBuild(build, {
      ipaUrl: await services.ipaUrl(build, signedIpaUrl),
      iconUrl: build.iconSha256 ? services.urls.icon(sign('icon')) : null,
    }).toString('utf8')
  }

  return {
    body(buildId) {
      const { index, issuedAt } = linkWindow(services.now().getTime(), services.config.linkTtlSeconds)
      const cached = entries.get(buildId)
      if (cached?.window === index) return cached.body
      const body = render(buildId, issuedAt)
      entries.delete(buildId)
      entries.set(buildId, { window: index, body })
      if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value as string)
      // A failure (deleted build, store error) is not kept: the next request tries again.
      body.catch(() => {
        if (entries.get(buildId)?.body === body) entries.delete(buildId)
      })
      return body
    },
  }
}
