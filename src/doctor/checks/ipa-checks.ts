import type { Evidence, IpaEvidence } from '../evidence.ts'
import { DOCTOR_LIMITS } from '../limits.ts'
import type { CheckDefinition, CheckOutcome } from '../types.ts'
import { describeHops, fail, finalResponse, mediaType, pass, responseEvidence, skip, warn } from './outcome.ts'

const DOWNLOAD_SYMPTOM = 'The install prompt appears, then "Unable to Download App — could not be downloaded at this time".'

/** The remote .ipa's evidence, or the reason its checks skip. */
function remoteIpa(evidence: Evidence): IpaEvidence | string {
  const ipa = evidence.ipa
  if (ipa?.url) return ipa
  if (ipa) return 'the .ipa is a local file'
  const facts = evidence.manifest?.facts
  if (!facts) return evidence.manifest?.unreadable ?? 'there is no manifest naming an .ipa'
  if (!facts.softwarePackageUrl) return 'the manifest names no software-package URL (see manifest-invalid)'
  return `the software-package URL is not an http(s) URL: ${facts.softwarePackageUrl}`
}

function withGet(evidence: Evidence, judge: (ipa: IpaEvidence, response: NonNullable<ReturnType<typeof finalResponse>>) => CheckOutcome): CheckOutcome {
  const ipa = remoteIpa(evidence)
  if (typeof ipa === 'string') return skip(ipa)
  const response = finalResponse(ipa.get)
  if (!response) return skip('the .ipa could not be fetched (see ipa-unreachable)')
  if (response.status !== 200) return skip(`the .ipa URL answered ${response.status} (see ipa-unreachable)`)
  return judge(ipa, response)
}

/** Broken promises about the size: the Content-Length / Content-Range story does not add up. */
const LENGTH_VIOLATION = /ended after|broke off|carried|Content-Range says/

function startsLikeHtml(body: Buffer | null): boolean {
  return body !== null && /^\s*(<!doctype|<html|<head|<body|<\?xml|<)/i.test(body.subarray(0, 256).toString('latin1'))
}

/** Matrix rows 11, 13, 14, 22: downloading the .ipa the way the installer does. */
export const ipaChecks: CheckDefinition[] = [
  {
    id: 'ipa-unreachable',
    title: 'the .ipa URL answers 200',
    severity: 'error',
    symptom: DOWNLOAD_SYMPTOM,
    fix: 'Serve the .ipa at the manifest\'s URL with a direct 200, reachable without cookies; signed links must live at least as long as the install window.',
    run(evidence) {
      const ipa = remoteIpa(evidence)
      if (typeof ipa === 'string') return skip(ipa)
      const result = ipa.get?.result
      if (!result) return skip('the .ipa was not fetched')
      if (!result.ok) return fail(result.failure.message, { url: result.failure.url, kind: result.failure.kind })
      const { response } = result
      const details = responseEvidence(response, ['content-type', 'content-length'])
      if (response.status === 401 || response.status === 403) {
        return fail(`${response.status}: the .ipa needs credentials the installer does not send (a login, or a token that is missing, invalid or expired)`, details)
      }
      if (response.status === 404) return fail('404 Not Found: no file at the manifest\'s .ipa URL', details)
      if (response.status === 410) return fail('410 Gone: the .ipa link has expired or the build was deleted', details)
      if (response.status >= 300 && response.status < 400) return fail(`it answered ${response.status} and the redirect could not be followed (see ipa-redirect)`, details)
      if (response.status !== 200) return fail(`it answered ${response.status} to a plain GET (iOS expects 200)`, details)
      const inspection = ipa.inspection
      if (inspection.state === 'failed' && inspection.during === 'transfer' && !ipa.transfer.violations.some((v) => LENGTH_VIOLATION.test(v))) {
        return fail(`reading the .ipa broke off: ${inspection.message}`, details)
      }
      return pass(`200 from ${response.url}`, details)
    },
  },
  {
    id: 'ipa-redirect',
    title: 'the .ipa is served directly, without redirects',
    severity: 'warning',
    symptom: 'Downloads break when the redirect target changes or needs a cookie; "Unable to Download App".',
    fix: 'Put the final (e.g. pre-signed storage) URL in the manifest so the .ipa answers 200 directly.',
    run(evidence) {
      const ipa = remoteIpa(evidence)
      if (typeof ipa === 'string') return skip(ipa)
      const fetch = ipa.get
      if (!fetch) return skip('the .ipa was not fetched')
      if (fetch.hops.length === 0 && !fetch.result.ok) return skip('the .ipa could not be fetched (see ipa-unreachable)')
      if (fetch.hops.length === 0 && fetch.problems.length === 0) return pass('answered without redirects')
      const details = { hops: fetch.hops, problems: fetch.problems }
      if (fetch.problems.includes('downgrade')) return fail(`it redirects from https to plain http (${describeHops(fetch)})`, details)
      if (fetch.problems.some((p) => p !== 'downgrade')) return fail(`the redirects cannot be followed (${fetch.problems.join(', ')}: ${describeHops(fetch)})`, details)
      const final = finalResponse(fetch)
      if (final && (mediaType(final) === 'text/html' || startsLikeHtml(final.body))) return fail(`it redirects to an HTML page (${describeHops(fetch)}), typically a login`, details)
      return warn(`it redirects: ${describeHops(fetch)}`, details)
    },
  },
  {
    id: 'ipa-not-octet-stream',
    title: 'the .ipa is served as application/octet-stream',
    severity: 'error',
    symptom: DOWNLOAD_SYMPTOM,
    fix: 'Serve .ipa files as application/octet-stream (Apple\'s deployment reference), e.g. nginx: types { application/octet-stream ipa; }',
    run: (evidence) =>
      withGet(evidence, (_ipa, response) => {
        const type = mediaType(response)
        const details = responseEvidence(response, ['content-type'])
        if (type === 'text/html' || startsLikeHtml(response.body)) return fail(`it answers an HTML page (${type ?? 'no Content-Type'}), not the .ipa: a login or error page?`, details)
        if (type === 'application/octet-stream') return pass('Content-Type: application/octet-stream', details)
        return warn(type ? `it is served as ${type}, not application/octet-stream` : 'it is served without a Content-Type', details)
      }),
  },
  {
    id: 'ipa-content-length',
    title: 'the .ipa has an exact Content-Length',
    severity: 'error',
    symptom: 'The download stalls, restarts or shows no progress, then "Unable to Download App".',
    fix: 'Send the exact Content-Length, without chunked transfer encoding or compression; make sure every proxy and CDN on the way keeps it.',
    run: (evidence) =>
      withGet(evidence, (ipa, response) => {
        const length = response.headers['content-length']
        const details = { ...responseEvidence(response, ['content-length', 'transfer-encoding']), size: ipa.size, violations: ipa.transfer.violations }
        if (length === undefined) {
          return fail(`no Content-Length${response.headers['transfer-encoding'] ? ` (Transfer-Encoding: ${response.headers['transfer-encoding']})` : ''}: the device cannot show progress or verify the size`, details)
        }
        const head = finalResponse(ipa.head)
        if (head?.status === 200 && head.headers['content-length'] !== undefined && head.headers['content-length'] !== length) {
          return fail(`HEAD says ${head.headers['content-length']} bytes, GET says ${length}`, details)
        }
        const probe = ipa.rangeProbe?.ok ? ipa.rangeProbe.response : null
        const total = probe?.status === 206 ? /\/(\d+)$/.exec(probe.headers['content-range'] ?? '')?.[1] : undefined
        if (total !== undefined && total !== length) return fail(`Content-Range says the file is ${total} bytes, Content-Length says ${length}`, details)
        const lengthViolation = ipa.transfer.violations.find((v) => LENGTH_VIOLATION.test(v))
        if (lengthViolation) return fail(lengthViolation, details)
        return pass(`Content-Length: ${length}`, details)
      }),
  },
  {
    id: 'ipa-no-range',
    title: 'the .ipa server honours Range requests',
    severity: 'warning',
    symptom: 'An interrupted download starts over from zero instead of resuming; large apps may never finish on a flaky network.',
    fix: 'Serve the .ipa with Accept-Ranges: bytes and correct 206 answers (every static server and object store does; some application frameworks do not).',
    run: (evidence) =>
      withGet(evidence, (ipa, response) => {
        const probe = ipa.rangeProbe
        if (!probe) return skip('no Range request was made')
        if (!probe.ok) return warn(`a Range request failed: ${probe.failure.message}`)
        const details = { ...responseEvidence(probe.response, ['content-range', 'accept-ranges', 'content-length']), acceptRanges: response.headers['accept-ranges'] ?? null }
        if (probe.response.status === 206 && /^bytes 0-3\/\d+$/.test(probe.response.headers['content-range'] ?? '')) {
          const advertised = response.headers['accept-ranges'] === 'bytes'
          return pass(`206 with Content-Range ${probe.response.headers['content-range']}${advertised ? '' : ' (though Accept-Ranges is not advertised)'}`, details)
        }
        if (probe.response.status === 200) return warn('it ignores Range requests (answers 200 with the whole file)', details)
        return warn(`a Range request answered ${probe.response.status}${probe.response.headers['content-range'] ? ` (${probe.response.headers['content-range']})` : ''}`, details)
      }),
  },
  {
    id: 'ipa-content-encoding',
    title: 'the .ipa is sent without Content-Encoding',
    severity: 'error',
    symptom: 'The download stalls or fails the size check: "Unable to Download App".',
    fix: 'Do not compress .ipa responses (they are ZIPs already): e.g. nginx gzip_types without application/octet-stream, no CDN compression for .ipa.',
    run: (evidence) =>
      withGet(evidence, (_ipa, response) => {
        const encoding = response.headers['content-encoding']
        const details = responseEvidence(response, ['content-encoding'])
        if (encoding && encoding.toLowerCase() !== 'identity') return fail(`Content-Encoding: ${encoding} (asked with Accept-Encoding: gzip, deflate, br, as iOS does)`, details)
        return pass('no Content-Encoding', details)
      }),
  },
  {
    id: 'ipa-corrupt',
    title: 'the .ipa is a readable archive matching its declared hashes',
    severity: 'error',
    symptom: '"Unable to Install" or "This app cannot be installed because its integrity could not be verified".',
    fix: 'Re-export the archive from Xcode (an -iphoneos export), upload it again and regenerate the manifest\'s hashes from the exact file served.',
    run(evidence) {
      const ipa = evidence.ipa
      if (!ipa) return skip(remoteIpa(evidence) as string)
      const inspection = ipa.inspection
      const hashes = ipa.hashes
      const details: Record<string, unknown> = { transfer: ipa.transfer, ...(hashes ? { hashes } : {}) }
      if (inspection.state === 'failed' && inspection.during === 'archive') return fail(`${inspection.code}: ${inspection.message}`, details)
      if (hashes) {
        const algorithm = hashes.declared.algorithm
        if (hashes.chunksNeeded !== null && hashes.declared.chunks && hashes.chunksNeeded !== hashes.declared.chunks.length) {
          return fail(`the manifest lists ${hashes.declared.chunks.length} ${algorithm} chunk hashes, but a ${ipa.size}-byte file has ${hashes.chunksNeeded} chunks of ${hashes.declared.chunkSize}`, details)
        }
        const mismatch = hashes.checked.find((c) => c.expected !== c.actual)
        if (mismatch) return fail(`${algorithm} of ${mismatch.part} is ${mismatch.actual}, the manifest says ${mismatch.expected}`, details)
      }
      if (inspection.state === 'not-read') {
        const response = finalResponse(ipa.get)
        const body = response?.status === 200 ? response.body : null
        if (body && body.length >= 4 && body.readUInt32LE(0) !== 0x04034b50 && !startsLikeHtml(body)) {
          return fail(`the file does not start like a ZIP archive (first bytes ${body.subarray(0, 4).toString('hex')}): ${inspection.reason}`, details)
        }
        return skip(inspection.reason)
      }
      if (inspection.state === 'failed') return skip(`the archive could not be read: ${inspection.message}`)
      const verified = hashes ? `; ${hashes.checked.length} ${hashes.declared.algorithm} hash${hashes.checked.length === 1 ? '' : 'es'} verified${hashes.notChecked.length > 0 ? ` (not checked: ${hashes.notChecked.join('; ')})` : ''}` : ''
      const read = ipa.transfer.method === 'ranges' ? ` (${ipa.transfer.bytesFetched} bytes fetched in ${ipa.transfer.requests} Range requests)` : ''
      return pass(`the archive reads cleanly${read}${verified}`, details)
    },
  },
  {
    id: 'large-ipa-cellular',
    title: 'the .ipa is small enough for cellular downloads',
    severity: 'info',
    symptom: 'On cellular the download waits for Wi-Fi, or fails.',
    fix: 'Tell testers to use Wi-Fi, or to allow large downloads over cellular (Settings › App Store › App Downloads).',
    run(evidence) {
      const size = evidence.ipa?.size ?? null
      if (size === null) return skip(evidence.ipa ? 'the size of the .ipa is unknown' : (remoteIpa(evidence) as string))
      const mb = Math.round(size / 1e5) / 10
      if (size > DOCTOR_LIMITS.cellularBytes) return warn(`the .ipa is ${mb} MB, above the ~${DOCTOR_LIMITS.cellularBytes / 1e6} MB iOS downloads over cellular without asking`, { size })
      return pass(`${mb} MB`, { size })
    },
  },
  {
    id: 'image-unreachable',
    title: 'the display and full-size images can be fetched',
    severity: 'warning',
    symptom: 'The Home Screen shows a blank or placeholder icon while the app downloads.',
    fix: 'Serve the images (PNG, 57×57 and 512×512) at https URLs reachable without cookies, or leave them out of the manifest (they are optional).',
    run(evidence) {
      const facts = evidence.manifest?.facts
      if (!facts) return skip(evidence.manifest?.unreadable ?? 'there is no manifest')
      if (evidence.images.length === 0) return pass('the manifest declares no images (they are optional)')
      const broken: string[] = []
      for (const image of evidence.images) {
        const result = image.fetch.result
        if (!result.ok) broken.push(`${image.kind} ${image.url}: ${result.failure.message}`)
        else if (result.response.status !== 200) broken.push(`${image.kind} ${image.url}: answered ${result.response.status}`)
        else if (!image.looksLikeImage) broken.push(`${image.kind} ${image.url}: not a PNG or JPEG (${mediaType(result.response) ?? 'no Content-Type'})`)
        else if (result.response.tlsBypassed) broken.push(`${image.kind} ${image.url}: TLS fails (${result.response.tlsBypassed})`)
      }
      const details = { images: evidence.images.map((image) => ({ kind: image.kind, url: image.url, ok: image.looksLikeImage })) }
      if (broken.length > 0) return warn(broken.join('; '), details)
      return pass(`${evidence.images.length} image${evidence.images.length === 1 ? '' : 's'} fetched`, details)
    },
  },
]
