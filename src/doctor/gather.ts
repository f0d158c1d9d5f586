import { open, readFile, stat } from 'node:fs/promises'
import { AirstripError } from '../errors.ts'
import type { Evidence, ImageEvidence, ServerEvidence, TargetKind, TlsEvidence } from './evidence.ts'
import { gatherLocalIpa, gatherRemoteIpa } from './gather-ipa.ts'
import { SAFARI_USER_AGENT, type FailureKind, type Fetcher, type FollowedFetch } from './http-fetch.ts'
import { parseItmsLink } from './itms-link-parse.ts'
import { DOCTOR_LIMITS } from './limits.ts'
import { readManifest } from './manifest-read.ts'
import { findItmsLinks } from './page-links.ts'
import { probeTls } from './tls-probe.ts'
import type { TrustStore } from './trust-store.ts'

export interface GatherOptions {
  target: string
  now: Date
  udid: string | null
  iosVersion: string | null
  trust: TrustStore
  fetcher: Fetcher
  requestTimeoutMs: number
  server?: ServerEvidence | undefined
}

/** Failures that mean nothing answered at all (as opposed to an HTTP error status). */
const UNREACHABLE: ReadonlySet<FailureKind> = new Set(['dns', 'refused', 'network', 'timeout', 'reset', 'tls', 'bad-url'])

/**
 * Follows the installer's path from the target to the .ipa, recording everything on the way:
 * install page → itms-services link → TLS of each origin → manifest → .ipa → images. Never throws
 * for a broken deployment (that is what the evidence describes); only a target that is neither a
 * URL, a link nor a readable file is a `usage-error`.
 */
export async function gatherEvidence(options: GatherOptions): Promise<{ evidence: Evidence; targetUnreachable: boolean }> {
  const { fetcher, target } = options
  const kind = await classifyTarget(target)
  const evidence: Evidence = {
    target: { input: target, kind },
    now: options.now,
    udid: options.udid,
    iosVersion: options.iosVersion,
    page: null,
    link: null,
    manifest: null,
    tls: [],
    ipa: null,
    images: [],
    server: options.server ?? null,
  }
  let targetUnreachable = false
  let manifestUrl: string | null = null

  if (kind === 'ipa-file') {
    evidence.ipa = await gatherLocalIpa(target, options.now, fetcher.deadline)
    return { evidence, targetUnreachable }
  }
  if (kind === 'link') {
    const parsed = parseItmsLink(target, 'argument')
    evidence.link = { parsed, others: [] }
    manifestUrl = parsed.manifestUrl
  } else if (kind === 'page') {
    const page = await fetcher.follow(target, { userAgent: SAFARI_USER_AGENT, body: 'all', maxBytes: DOCTOR_LIMITS.pageBytes, decode: true })
    targetUnreachable = !page.result.ok && UNREACHABLE.has(page.result.failure.kind)
    const body = page.result.ok ? page.result.response.body : null
    if (body && looksLikePlist(body)) {
      // Not a page after all: the URL serves a manifest. Diagnose it as one (fetched again below, as the installer).
      evidence.target.kind = 'manifest-url'
      manifestUrl = page.finalUrl
    } else {
      const links = body && page.result.ok && page.result.response.status < 400 ? findItmsLinks(body.toString('utf8')) : []
      evidence.page = { url: target, fetch: page, links }
      const parsed = links.map((link) => parseItmsLink(link.value, link.context))
      // The link a tester taps: the first in an attribute (a button), else the first in a script.
      const chosen = parsed.find((link) => link.context === 'attribute') ?? parsed[0]
      if (chosen) evidence.link = { parsed: chosen, others: parsed.filter((link) => link !== chosen) }
      manifestUrl = chosen?.manifestUrl ?? null
    }
  } else if (kind === 'manifest-url') {
    manifestUrl = target
  }

  if (kind === 'manifest-file') {
    const bytes = await readCapped(target, DOCTOR_LIMITS.manifestBytes)
    evidence.manifest =
      typeof bytes === 'string' ? { url: null, fetch: null, facts: null, unreadable: bytes } : { url: null, fetch: null, facts: readManifest(bytes), unreadable: null }
  } else if (manifestUrl) {
    await probeOrigin(evidence.tls, manifestUrl, 'manifest', options)
    const fetch = await fetcher.follow(manifestUrl, { body: 'all', maxBytes: DOCTOR_LIMITS.manifestBytes, decode: true })
    if (evidence.target.kind !== 'page') targetUnreachable = !fetch.result.ok && UNREACHABLE.has(fetch.result.failure.kind)
    evidence.manifest = { url: manifestUrl, fetch, facts: null, unreadable: null }
    const response = fetch.result.ok ? fetch.result.response : null
    if (!fetch.result.ok) evidence.manifest.unreadable = `the manifest could not be fetched: ${fetch.result.failure.message}`
    else if (response && response.status !== 200) evidence.manifest.unreadable = `the manifest URL answered ${response.status}`
    else if (response?.body) evidence.manifest.facts = readManifest(response.body)
  }

  const facts = evidence.manifest?.facts ?? null
  const ipaUrl = facts?.softwarePackageUrl ?? null
  if (ipaUrl && isHttpUrl(ipaUrl)) {
    await probeOrigin(evidence.tls, ipaUrl, 'ipa', options)
    evidence.ipa = await gatherRemoteIpa(ipaUrl, { fetcher, now: options.now, hashes: facts?.hashes ?? null })
  }
  evidence.images = await gatherImages(fetcher, facts?.images ?? [])
  return { evidence, targetUnreachable }
}

async function classifyTarget(target: string): Promise<TargetKind> {
  if (/^itms-services:/i.test(target.trim())) return 'link'
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname.toLowerCase().endsWith('.plist') ? 'manifest-url' : 'page'
    } catch {
      throw new AirstripError('usage-error', `"${target}" is not a valid URL`)
    }
  }
  let size: number
  try {
    const info = await stat(target)
    if (!info.isFile()) throw new Error('not a file')
    size = info.size
  } catch {
    throw new AirstripError('usage-error', `"${target}" is not a URL, an itms-services:// link or a readable .ipa / .plist file`)
  }
  const head = Buffer.alloc(Math.min(16, size))
  const handle = await open(target, 'r')
  try {
    await handle.read(head, 0, head.length, 0)
  } finally {
    await handle.close()
  }
  if ((head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) || /\.ipa$/i.test(target)) return 'ipa-file'
  if (looksLikePlist(head) || /\.plist$/i.test(target)) return 'manifest-file'
  throw new AirstripError('usage-error', `${target} is neither an .ipa nor a manifest .plist`)
}

function looksLikePlist(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 256).toString('latin1').replace(/^\uFEFF|^\u00ef\u00bb\u00bf/, '').trimStart()
  return head.startsWith('bplist') || head.startsWith('<plist') || (head.startsWith('<?xml') && /<(!DOCTYPE plist|plist)/.test(bytes.subarray(0, 1024).toString('latin1')))
}

async function readCapped(path: string, cap: number): Promise<Buffer | string> {
  const { size } = await stat(path)
  if (size > cap) return `the file is ${size} bytes; a manifest is a few KiB (doctor reads at most ${cap})`
  return readFile(path)
}

async function probeOrigin(probes: TlsEvidence[], url: string, role: 'manifest' | 'ipa', options: GatherOptions): Promise<void> {
  let origin: string
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'https:') return
    origin = parsed.origin
  } catch {
    return
  }
  const known = probes.find((entry) => entry.probe.origin === origin)
  if (known) {
    if (!known.roles.includes(role)) known.roles.push(role)
    return
  }
  probes.push({ roles: [role], probe: await probeTls(origin, { trust: options.trust, fetcher: options.fetcher, requestTimeoutMs: options.requestTimeoutMs }) })
}

async function gatherImages(fetcher: Fetcher, images: ReadonlyArray<{ kind: ImageEvidence['kind']; url: string }>): Promise<ImageEvidence[]> {
  const fetched = new Map<string, FollowedFetch>()
  const out: ImageEvidence[] = []
  for (const image of images) {
    if (!isHttpUrl(image.url)) {
      out.push({ ...image, fetch: { url: image.url, finalUrl: image.url, hops: [], problems: [], result: { ok: false, failure: { url: image.url, kind: 'bad-url', code: null, message: `not an http(s) URL: ${image.url}`, bytesReceived: 0 } } }, looksLikeImage: false })
      continue
    }
    let fetch = fetched.get(image.url)
    if (!fetch) {
      fetch = await fetcher.follow(image.url, { body: 'all', maxBytes: DOCTOR_LIMITS.imageBytes })
      fetched.set(image.url, fetch)
    }
    const body = fetch.result.ok ? fetch.result.response.body : null
    out.push({ ...image, fetch, looksLikeImage: body !== null && isImageBytes(body) })
  }
  return out
}

function isImageBytes(bytes: Buffer): boolean {
  return bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) || (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
}

function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url)
}
