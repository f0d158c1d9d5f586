import type { Services } from '../app.ts'
import type { AppRecord, BuildRecord } from '../store/records.ts'
import { mintBuildLinks } from './build-links.ts'
import type { BuildSummary } from './schemas/builds.ts'

/** The API's view of a build, with fresh signed links. */
export function summarizeBuild(services: Services, app: Pick<AppRecord, 'id' | 'bundleId' | 'name'>, build: BuildRecord): BuildSummary {
  const links = mintBuildLinks(services, build)
  const profile = build.info.profile
  return {
    id: build.id,
    app: { id: app.id, bundleId: app.bundleId, name: app.name },
    version: build.version,
    build: build.build,
    size: build.size,
    sha256: build.sha256,
    notes: build.notes,
    createdAt: build.createdAt,
    signing: profile
      ? { kind: profile.kind, expiresAt: profile.expiresAt, deviceCount: profile.provisionedDevices.length, allDevices: profile.provisionsAllDevices }
      : null,
    installPageUrl: links.installPageUrl,
    manifestUrl: links.manifestUrl,
    itmsServicesUrl: links.itmsServicesUrl,
    linksExpireAt: links.expiresAt,
    problems: build.info.problems,
  }
}
