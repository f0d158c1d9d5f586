import type { Evidence } from '../evidence.ts'
import type { CheckDefinition, CheckOutcome } from '../types.ts'
import { describeHops, fail, finalResponse, mediaType, pass, responseEvidence, skip, warn } from './outcome.ts'

const LOGIN_PATH = /(log-?in|sign-?in|sign_in|auth|sso|oauth|saml|session|account)/i
/** A manifest may be cached this long (seconds) without going stale in practice. */
const SHORT_MAX_AGE = 300

function noManifest(evidence: Evidence): string {
  if (evidence.manifest?.url === null) return 'the manifest is a local file'
  if (evidence.link && !evidence.link.parsed.manifestUrl) return 'the link names no usable manifest URL (see link-malformed)'
  return evidence.target.kind === 'ipa-file' ? 'the target is an .ipa, not a deployment' : 'there is no manifest to fetch'
}

/** Judges the manifest's final 200 response; skips when there is none (manifest-unreachable reports why). */
function withManifestResponse(evidence: Evidence, judge: (response: NonNullable<ReturnType<typeof finalResponse>>) => CheckOutcome): CheckOutcome {
  const response = finalResponse(evidence.manifest?.fetch)
  if (!response) return skip(evidence.manifest?.fetch ? 'the manifest could not be fetched' : noManifest(evidence))
  if (response.status !== 200) return skip(`the manifest URL answered ${response.status}`)
  return judge(response)
}

/** Matrix rows 7–10 and 37–38: fetching the manifest as appstored does, and what it contains. */
export const manifestChecks: CheckDefinition[] = [
  {
    id: 'manifest-unreachable',
    title: 'the manifest URL answers',
    severity: 'error',
    symptom: 'iOS asks to install, then nothing happens, or says "Cannot connect to <host>".',
    fix: 'Make the manifest URL reachable from the testers\' devices (public DNS, no VPN-only host, no internal address leaked by a proxy) and answer 200.',
    run(evidence) {
      const manifest = evidence.manifest
      if (!manifest?.fetch) return skip(noManifest(evidence))
      const result = manifest.fetch.result
      if (!result.ok) {
        if (result.failure.kind === 'too-large') return skip('it answered; its body is the problem (see manifest-invalid)')
        return fail(result.failure.message, { url: result.failure.url, kind: result.failure.kind, code: result.failure.code })
      }
      const { response } = result
      const details = responseEvidence(response, ['content-type', 'content-length'])
      if (response.status === 401 || response.status === 403) return skip(`it answered ${response.status} (see manifest-requires-auth)`)
      if (response.status >= 300 && response.status < 400) return fail(`it answered ${response.status} and the redirect could not be followed (see manifest-redirect)`, details)
      if (response.status === 404) return fail('404 Not Found: there is no manifest at this URL', details)
      if (response.status === 410) return fail('410 Gone: the manifest (or the signed link to it) has expired or been deleted', details, 'Open the install page again for a fresh link, or publish the build again.')
      if (response.status >= 400) return fail(`it answered ${response.status}`, details)
      return pass(`200 from ${response.url} in ${response.elapsedMs} ms`, details)
    },
  },
  {
    id: 'manifest-requires-auth',
    title: 'the manifest needs no cookie or login',
    severity: 'error',
    symptom: 'iOS shows "Cannot connect to <host>" or does nothing; with basic auth it prompts for a password again and again.',
    fix: 'Let the manifest, .ipa and images be fetched without cookies or logins: iOS\'s installer (appstored) sends none. Protect them with an unguessable, expiring token in the URL path instead.',
    run(evidence) {
      const fetch = evidence.manifest?.fetch
      if (!fetch) return skip(noManifest(evidence))
      const loginHop = fetch.hops.find((hop) => LOGIN_PATH.test(new URL(hop.location).pathname))
      if (loginHop) return fail(`it redirects to what looks like a login page (${loginHop.location})`, { hops: fetch.hops })
      const response = finalResponse(fetch)
      if (!response) return skip('the manifest could not be fetched')
      const details = { ...responseEvidence(response, ['www-authenticate', 'content-type']), setCookie: response.setCookie }
      const challenge = response.headers['www-authenticate']
      if (response.status === 401) {
        return fail(`401 Unauthorized${challenge ? ` (${challenge.split(/[\s,]/)[0]} authentication)` : ''}: iOS's installer cannot log in, and re-prompts for every asset with basic auth`, details)
      }
      if (response.status === 403) return fail('403 Forbidden: the URL\'s token or signature is missing, invalid or expired, or access needs a login the installer cannot give', details)
      const body = response.body?.toString('utf8', 0, 64 * 1024) ?? ''
      if (mediaType(response) === 'text/html' && /type\s*=\s*["']?password/i.test(body)) return fail('it answers a login form (HTML with a password field) instead of the manifest', details)
      if (response.setCookie && response.status === 200 && evidence.manifest?.facts?.findings.some((f) => f.severity === 'error')) {
        return warn('it sets a cookie and does not answer a valid manifest: the installer never sends cookies back', details)
      }
      return pass('fetched without cookies or credentials', details)
    },
  },
  {
    id: 'manifest-redirect',
    title: 'the manifest is served directly, without redirects',
    severity: 'warning',
    symptom: 'Installs break whenever the redirect changes (a storage provider\'s redirect change broke every AppBox install), or "Cannot connect" when it leads to http.',
    fix: 'Put the final URL in the itms-services link so the manifest answers 200 directly.',
    run(evidence) {
      const fetch = evidence.manifest?.fetch
      if (!fetch) return skip(noManifest(evidence))
      if (fetch.hops.length === 0 && !fetch.result.ok) return skip('the manifest could not be fetched (see manifest-unreachable)')
      if (fetch.hops.length === 0 && fetch.problems.length === 0) return pass('answered without redirects')
      const details = { hops: fetch.hops, problems: fetch.problems }
      if (fetch.problems.includes('downgrade')) return fail(`it redirects from https to plain http (${describeHops(fetch)})`, details)
      if (fetch.problems.includes('loop')) return fail(`the redirects loop (${describeHops(fetch)})`, details)
      if (fetch.problems.includes('too-many')) return fail(`more than ${fetch.hops.length - 1} redirects (${describeHops(fetch)})`, details)
      if (fetch.problems.includes('bad-location')) return fail('a redirect has an unusable Location', details)
      return warn(`it redirects: ${describeHops(fetch)}`, details)
    },
  },
  {
    id: 'manifest-content-type',
    title: 'the manifest is served as XML',
    severity: 'warning',
    symptom: 'Possibly "Cannot install … invalid manifest" (weakly evidenced; Apple documents text/xml).',
    fix: 'Serve .plist manifests as text/xml (Apple\'s deployment reference) or application/xml, e.g. nginx: types { text/xml plist; }',
    run: (evidence) =>
      withManifestResponse(evidence, (response) => {
        const type = mediaType(response)
        const details = responseEvidence(response, ['content-type'])
        if (type === 'text/xml' || type === 'application/xml') return pass(`Content-Type: ${response.headers['content-type']}`, details)
        return warn(type ? `it is served as ${type}, not text/xml or application/xml` : 'it is served without a Content-Type', details)
      }),
  },
  {
    id: 'manifest-invalid',
    title: "the manifest is a valid plist with Apple's required keys",
    severity: 'error',
    symptom: 'iOS asks to install, then nothing happens, or shows "Cannot install … invalid manifest".',
    fix: 'Generate the manifest with a plist serializer from the parsed .ipa (escape & < > in titles and URLs), starting with <?xml at byte 0, with items[0].assets[kind=software-package, url] and metadata {bundle-identifier, kind = software, title}.',
    run(evidence) {
      const manifest = evidence.manifest
      if (!manifest) return skip(noManifest(evidence))
      const failure = manifest.fetch?.result.ok === false ? manifest.fetch.result.failure : null
      if (failure?.kind === 'too-large') return fail(`the manifest is far too large: ${failure.message}; a manifest is a few KiB`, { url: failure.url })
      if (!manifest.facts) return manifest.url === null ? fail(manifest.unreadable ?? 'the file could not be read') : skip(manifest.unreadable ?? 'the manifest was not read')
      const { facts } = manifest
      const details = { format: facts.format, items: facts.itemCount, bundleId: facts.bundleId, bundleVersion: facts.bundleVersion, title: facts.title, assets: facts.assets }
      const errors = facts.findings.filter((f) => f.severity === 'error').map((f) => f.message)
      if (errors.length > 0) return fail(errors.join('; '), details)
      const warnings = facts.findings.map((f) => f.message)
      if (warnings.length > 0) return warn(warnings.join('; '), details)
      return pass(`"${facts.title}" (${facts.bundleId}), ${facts.assets.length} asset${facts.assets.length === 1 ? '' : 's'}`, details)
    },
  },
  {
    id: 'manifest-cacheable',
    title: 'the manifest is not cached',
    severity: 'warning',
    symptom: 'After a new upload, testers get the old build or "Unable to Download App" (a cached manifest points at a deleted .ipa).',
    fix: 'Send Cache-Control: no-store on manifests (they are dynamic: tokens, latest build); cache the immutable .ipa instead.',
    run: (evidence) =>
      withManifestResponse(evidence, (response) => {
        const details = responseEvidence(response, ['cache-control', 'expires', 'etag', 'last-modified'])
        const cacheControl = (response.headers['cache-control'] ?? '').toLowerCase()
        if (/\bno-store\b|\bno-cache\b/.test(cacheControl)) return pass(`Cache-Control: ${response.headers['cache-control']}`, details)
        const ages = [...cacheControl.matchAll(/\b(?:s-)?max-age\s*=\s*"?(\d+)/g)].map((m) => Number(m[1]))
        if (ages.length > 0 && Math.max(...ages) <= SHORT_MAX_AGE) return pass(`Cache-Control: ${response.headers['cache-control']} (short)`, details)
        if (ages.length > 0) return warn(`caches may keep it for ${Math.max(...ages)} s (Cache-Control: ${response.headers['cache-control']})`, details)
        return warn(`no Cache-Control${response.headers['etag'] || response.headers['last-modified'] ? '; with ETag/Last-Modified, caches and CDNs may reuse it heuristically' : ''}`, details)
      }),
  },
  {
    id: 'asset-not-https',
    title: 'every asset URL in the manifest is https',
    severity: 'error',
    symptom: '"Unable to Download App" after the install prompt (the .ipa), or a blank icon (images).',
    fix: 'Write absolute https:// URLs for every asset (Apple\'s schema: "needs to start with https://").',
    run(evidence) {
      const facts = evidence.manifest?.facts
      if (!facts) return skip(evidence.manifest?.unreadable ?? noManifest(evidence))
      if (facts.assets.length === 0) return skip('the manifest lists no assets (see manifest-invalid)')
      const bad = facts.assets.filter((asset) => asset.url !== null && !/^https:\/\/[^/?#]+/i.test(asset.url))
      const details = { assets: facts.assets }
      const packages = bad.filter((asset) => asset.kind !== 'display-image' && asset.kind !== 'full-size-image')
      if (packages.length > 0) return fail(packages.map((asset) => `${asset.kind}: ${asset.url}`).join('; '), details)
      if (bad.length > 0) return warn(`images are not https: ${bad.map((asset) => asset.url).join(', ')}`, details)
      return pass(`${facts.assets.length} asset URL${facts.assets.length === 1 ? '' : 's'}, all https`, details)
    },
  },
]
