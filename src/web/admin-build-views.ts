import type { Services } from '../app.ts'
import type { Problem } from '../ipa/types.ts'
import { dateLabel, deviceFamilyLabels, relativeTime, signingLabel, sizeLabel, versionLabel } from '../ota/install-labels.ts'
import { mintBuildLinks } from '../server/build-links.ts'
import type { AppSummary, BuildRecord } from '../store/records.ts'
import { adminBase } from './admin-views.ts'
import { appListItem, type AppListItem } from './page-views.ts'
import { renderReleaseNotes } from './release-notes.ts'

/** Apps, builds and a build's details as the admin pages show them: labels and links only, no decisions. */

/** An app as the home page lists it, linking to its admin page instead. */
export type AdminAppRow = AppListItem

export function adminAppRow(services: Services, app: AppSummary, latest: BuildRecord | null): AdminAppRow {
  return { ...appListItem(services, app, latest ? mintBuildLinks(services, latest).iconUrl : null), url: `${adminBase(services)}/apps/${app.id}` }
}

export interface AdminBuildRow {
  id: string
  url: string
  version: string
  channel: string
  keep: boolean
  size: string
  uploaded: string
  uploadedAt: string
  errors: number
  warnings: number
}

export function adminBuildRow(services: Services, build: BuildRecord): AdminBuildRow {
  return {
    id: build.id,
    url: `${adminBase(services)}/builds/${build.id}`,
    version: versionLabel(build.version, build.build),
    channel: build.channel,
    keep: build.keep,
    size: sizeLabel(build.size),
    uploaded: relativeTime(build.createdAt, services.now()),
    uploadedAt: dateLabel(build.createdAt),
    errors: build.info.problems.filter((p) => p.severity === 'error').length,
    warnings: build.info.problems.filter((p) => p.severity === 'warning').length,
  }
}

export interface AdminBuildDetail extends AdminBuildRow {
  name: string
  bundleId: string
  appUrl: string
  fileName: string | null
  sha256: string
  notesHtml: string | null
  /** The notes as stored (markdown), for the edit form. */
  notes: string
  notesUrl: string
  facts: Array<{ label: string; value: string; bad?: boolean }>
  problems: Problem[]
  extensions: Array<{ path: string; bundleId: string; kind: string }>
  installPageUrl: string
  itmsServicesUrl: string
  doctorUrl: string
  deleteUrl: string
}

export function adminBuildDetail(services: Services, build: BuildRecord): AdminBuildDetail {
  const { info } = build
  const now = services.now()
  const profile = info.profile
  const links = mintBuildLinks(services, build)
  const expired = (iso: string | null) => iso !== null && Date.parse(iso) <= now.getTime()
  const facts: AdminBuildDetail['facts'] = [
    { label: 'Bundle id', value: build.bundleId },
    { label: 'Minimum iOS', value: info.minimumOSVersion ?? 'not set' },
    { label: 'Devices', value: deviceFamilyLabels(info.deviceFamily).join(', ') || 'unknown' },
    { label: 'Signing', value: signingLabel(profile?.kind ?? null) },
  ]
  if (profile) {
    facts.push({ label: 'Team', value: [profile.teamName, profile.teamId].filter(Boolean).join(' · ') || 'unknown' })
    if (profile.expiresAt) facts.push({ label: 'Profile expires', value: `${dateLabel(profile.expiresAt)} (${relativeTime(profile.expiresAt, now)})`, bad: expired(profile.expiresAt) })
    facts.push({ label: 'Provisioned devices', value: profile.provisionsAllDevices ? 'any device' : String(profile.provisionedDevices.length) })
  }
  if (info.signingCertificate) {
    facts.push({ label: 'Certificate', value: info.signingCertificate.subject })
    facts.push({ label: 'Certificate expires', value: dateLabel(info.signingCertificate.notAfter), bad: expired(info.signingCertificate.notAfter) })
  }
  if (info.sdk) facts.push({ label: 'SDK', value: info.sdk })
  return {
    ...adminBuildRow(services, build),
    name: build.name,
    bundleId: build.bundleId,
    appUrl: `${adminBase(services)}/apps/${build.appId}`,
    fileName: build.fileName,
    sha256: build.sha256,
    notesHtml: build.notes ? renderReleaseNotes(build.notes) : null,
    notes: build.notes ?? '',
    notesUrl: `${adminBase(services)}/builds/${build.id}/notes`,
    facts,
    problems: info.problems,
    extensions: info.extensions.map((e) => ({ path: e.path, bundleId: e.bundleId ?? 'unknown', kind: e.profile ? signingLabel(e.profile.kind) : 'no profile' })),
    installPageUrl: links.installPageUrl,
    itmsServicesUrl: links.itmsServicesUrl,
    doctorUrl: `${adminBase(services)}/builds/${build.id}/doctor`,
    deleteUrl: `${adminBase(services)}/builds/${build.id}/delete`,
  }
}
