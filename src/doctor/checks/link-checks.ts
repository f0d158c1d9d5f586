import type { CheckDefinition } from '../types.ts'
import { fail, finalResponse, host, pass, skip, warn } from './outcome.ts'

/** Matrix rows 1, 3, 4: the page, the itms-services link and the manifest URL's scheme. */
export const linkChecks: CheckDefinition[] = [
  {
    id: 'page-no-link',
    title: 'the install page carries an itms-services link',
    severity: 'error',
    symptom: 'The page shows no working Install button: there is nothing to tap.',
    fix: 'Put <a href="itms-services://?action=download-manifest&amp;url=…">Install</a> on the page, or give doctor the itms-services link or the manifest URL directly.',
    run(evidence) {
      const page = evidence.page
      if (evidence.target.kind !== 'page' || !page) return skip('the target is not an install page')
      if (!page.fetch.result.ok) return fail(`the page could not be fetched: ${page.fetch.result.failure.message}`)
      const response = page.fetch.result.response
      if (response.status >= 400) return fail(`the page answered ${response.status}`, { url: response.url, status: response.status })
      if (page.links.length === 0) {
        const body = response.body?.toString('utf8') ?? ''
        const login = /type\s*=\s*["']?password/i.test(body)
        return fail(`the page has no itms-services link${login ? '; it looks like a login page (doctor sends no cookies)' : ''}`, { url: response.url, status: response.status })
      }
      return pass(`the page has ${page.links.length} itms-services link${page.links.length === 1 ? '' : 's'}`, { links: page.links })
    },
  },
  {
    id: 'link-malformed',
    title: 'the itms-services link is well formed',
    severity: 'error',
    symptom: 'Tapping Install does nothing at all: no prompt appears.',
    fix: 'Build the link as "itms-services://?action=download-manifest&url=" + encodeURIComponent(manifestUrl), with a real "&"; escape it as &amp; only inside HTML source.',
    run(evidence) {
      const link = evidence.link
      if (!link) return skip(evidence.target.kind === 'page' ? 'no link was found (see page-no-link)' : 'the target is not a link or a page')
      const { parsed } = link
      const details = { link: parsed.raw, foundIn: parsed.context, manifestUrl: parsed.manifestUrl, expected: parsed.expected }
      const fix = parsed.expected ? `Write the link exactly as: ${parsed.expected}` : undefined
      const errors = parsed.findings.filter((f) => f.severity === 'error').map((f) => f.message)
      if (errors.length > 0) return fail(errors.join('; '), details, fix)
      const warnings = parsed.findings.map((f) => f.message)
      const brokenOthers = link.others.filter((other) => other.findings.some((f) => f.severity === 'error'))
      if (brokenOthers.length > 0) warnings.push(`${brokenOthers.length} other link${brokenOthers.length === 1 ? '' : 's'} on the page ${brokenOthers.length === 1 ? 'is' : 'are'} malformed: ${brokenOthers[0]!.findings[0]!.message}`)
      if (warnings.length > 0) return warn(warnings.join('; '), details, fix)
      return pass(`the link is well formed and points at ${parsed.manifestUrl}`, details)
    },
  },
  {
    id: 'manifest-not-https',
    title: 'the manifest is served over https',
    severity: 'error',
    symptom: 'iOS says "Cannot connect to <host>" right after Install is tapped.',
    fix: 'Serve the manifest (and everything it names) over https with a trusted certificate: iOS 7.1+ refuses plain http manifests.',
    run(evidence) {
      const url = evidence.manifest?.url ?? evidence.link?.parsed.manifestUrl ?? null
      if (!url) return skip(evidence.target.kind === 'manifest-file' ? 'the manifest is a local file' : 'there is no manifest URL')
      const final = finalResponse(evidence.manifest?.fetch)?.url ?? url
      if (!url.toLowerCase().startsWith('https://')) return fail(`the manifest URL is not https: ${url}`, { url })
      if (!final.toLowerCase().startsWith('https://')) return fail(`the manifest URL redirects to plain http: ${final}`, { url, finalUrl: final })
      return pass(`the manifest is fetched over https from ${host(url)}`, { url })
    },
  },
]
