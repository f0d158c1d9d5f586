import { isIP } from 'node:net'
import { isNonPublicAddress } from '../../notify/network-policy.ts'
import type { Evidence } from '../evidence.ts'
import type { CheckDefinition } from '../types.ts'
import { pass, skip, warn } from './outcome.ts'

/** Names only a local network resolves: single labels and the usual private suffixes. */
const INTERNAL_NAME = /^[^.]+$|\.(local|localhost|internal|intranet|lan|home|corp|localdomain|home\.arpa)$/i

export function isInternalHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (isIP(bare) !== 0) return isNonPublicAddress(bare)
  return INTERNAL_NAME.test(bare)
}

/** The URLs the installer fetches, by role. */
function installerUrls(evidence: Evidence): Array<{ role: string; url: string }> {
  const urls: Array<{ role: string; url: string }> = []
  const manifestUrl = evidence.manifest?.url ?? evidence.link?.parsed.manifestUrl
  if (manifestUrl) urls.push({ role: 'manifest', url: manifestUrl })
  for (const asset of evidence.manifest?.facts?.assets ?? []) if (asset.url) urls.push({ role: asset.kind ?? 'asset', url: asset.url })
  return urls.filter(({ url }) => /^https?:\/\//i.test(url))
}

/** Matrix row 7: URLs that name an address only the server's own network reaches. */
export const hostChecks: CheckDefinition[] = [
  {
    id: 'url-internal-host',
    title: 'the installer is not sent to internal addresses',
    severity: 'warning',
    symptom: 'iOS asks to install, then nothing happens ("Open in iTunes?" then nothing), or "Cannot connect" outside the office network.',
    fix: 'Build every URL from the public origin testers reach (Airstrip: --public-url); behind a reverse proxy, do not let the internal host, scheme or port leak into the manifest.',
    run(evidence) {
      const urls = installerUrls(evidence)
      if (urls.length === 0) return skip('there are no URLs to check')
      const hosts = urls.map((entry) => ({ ...entry, host: new URL(entry.url).hostname, internal: isInternalHost(new URL(entry.url).hostname) }))
      const internal = hosts.filter((entry) => entry.internal)
      const details = { hosts: hosts.map(({ role, host, internal: isInternal }) => ({ role, host, internal: isInternal })) }
      if (internal.length === 0) return pass('every URL names a public host', details)
      const targetHost = /^https?:\/\//i.test(evidence.target.input) ? new URL(evidence.target.input).hostname : null
      const publicEntry = targetHost !== null && !isInternalHost(targetHost) ? targetHost : hosts.find((entry) => !entry.internal)?.host
      if (publicEntry) {
        return warn(`${internal.map((entry) => `the ${entry.role} URL names ${entry.host}`).join('; ')}, an internal address, while the deployment is reached as ${publicEntry}`, details)
      }
      return pass(`everything is on internal hosts (${[...new Set(internal.map((entry) => entry.host))].join(', ')}): only devices on that network can install`, details)
    },
  },
]
