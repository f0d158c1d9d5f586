// Helpers for the device tests: what iOS does in the Profile Service flow, done with real openssl.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'plist'
import { parsePlistDict } from '../../src/ipa/plist.ts'
import type { PlistDict } from '../../src/ipa/types.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { buildProfilePlist, createSigningIdentity, signProfile, type SigningIdentity } from '../support/profiles.ts'
import type { HttpResponse, TestServer } from '../support/server.ts'
import { UA } from '../web/browser.ts'

export const IPHONE_UA = UA.iphone
/** What iOS's profile installer sends as User-Agent when it POSTs the device response. */
export const PROFILE_AGENT = 'Profile/1.0'

/** Decodes the few entities eta writes, to compare page text. */
export function htmlText(html: string): string {
  return html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

/** The enrolment page's download link (the button's href), HTML-decoded. */
export function downloadLink(html: string): string {
  const match = /id="download"[^>]*href="([^"]+)"/.exec(html)
  assert.ok(match, 'the page has a download button')
  return htmlText(match[1]!)
}

/** A throw-away "device identity", like the certificate iOS signs its answer with. */
export function deviceIdentity(t: { after(fn: () => void): void }, commonName = 'Test Device 00008030-001A2B3C4D5E6F70'): SigningIdentity {
  return createSigningIdentity(tempDir(t), { commonName })
}

export interface DeviceAnswer {
  UDID?: unknown
  PRODUCT?: unknown
  VERSION?: unknown
  SERIAL?: unknown
  DEVICE_NAME?: unknown
  CHALLENGE?: unknown
  [key: string]: unknown
}

/** The plist the device sends, CMS-signed (DER, content attached) by `identity`, as iOS does. */
export function deviceResponse(answer: DeviceAnswer, identity: SigningIdentity): Buffer {
  const fields = Object.fromEntries(Object.entries(answer).filter(([, value]) => value !== undefined))
  return signProfile(build(fields as Parameters<typeof build>[0]), identity)
}

/** Fetches and checks the profile: signed with the dev CA chain (verified by openssl), returns its payload. */
export async function fetchProfile(server: TestServer, profileUrl: string, options: { signed: boolean }): Promise<{ payload: PlistDict; raw: HttpResponse }> {
  const raw = await server.request(profileUrl, { headers: { 'user-agent': IPHONE_UA } })
  assert.equal(raw.status, 200, raw.text())
  assert.equal(raw.headers['content-type'], 'application/x-apple-aspen-config')
  let content: Buffer = raw.body
  if (options.signed) {
    const dir = mkdtempSync(join(tmpdir(), 'airstrip-ca-'))
    try {
      const ca = join(dir, 'ca.pem')
      writeFileSync(ca, `-----BEGIN CERTIFICATE-----\n${server.app.services.devCaDer!.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`)
      // openssl verifies the signature and the chain up to the dev CA (the server certificate is a TLS one: any purpose).
      content = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-CAfile', ca, '-purpose', 'any'], { input: raw.body, stdio: ['pipe', 'pipe', 'pipe'] })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return { payload: parsePlistDict(content, 'mobileconfig'), raw }
}

/** Page → profile → signed answer → 301: a whole enrolment; returns the answer's response and the profile's payload. */
export async function enroll(server: TestServer, identity: SigningIdentity, answer: DeviceAnswer, options: { pageUrl?: string } = {}): Promise<{ response: HttpResponse; payload: PlistDict }> {
  const page = await server.request(options.pageUrl ?? `${server.url}/enroll`, { headers: { 'user-agent': IPHONE_UA } })
  assert.equal(page.status, 200)
  const { payload } = await fetchProfile(server, downloadLink(page.text()), { signed: server.app.services.devCaDer !== null })
  const content = payload['PayloadContent'] as PlistDict
  const body = deviceResponse({ CHALLENGE: content['Challenge'], ...answer }, identity)
  const response = await postAnswer(server, content['URL'] as string, body)
  return { response, payload }
}

export function postAnswer(server: TestServer, url: string, body: Buffer | string, contentType = 'application/pkcs7-signature'): Promise<HttpResponse> {
  const headers: Record<string, string> = { 'user-agent': PROFILE_AGENT, 'content-length': String(Buffer.byteLength(body)) }
  if (contentType) headers['content-type'] = contentType
  return server.request(url, { method: 'POST', headers, body })
}

/** Uploads a synthetic ad hoc build whose profile lists `devices`. */
export async function uploadAdHocBuild(server: TestServer, t: { after(fn: () => void): void }, options: { bundleId: string; name: string; devices: string[]; kind?: 'ad-hoc' | 'development' | 'enterprise' | 'app-store'; expiresAt?: Date }): Promise<{ id: string; installPageUrl: string; app: { id: string } }> {
  const dir = tempDir(t)
  const signer = createSigningIdentity(dir, { commonName: 'Apple Distribution: Example Inc (ABCDE12345)', teamId: 'ABCDE12345' })
  const plist = buildProfilePlist({ kind: options.kind ?? 'ad-hoc', appId: options.bundleId, devices: options.devices, ...(options.expiresAt ? { expiresAt: options.expiresAt, createdAt: new Date(options.expiresAt.getTime() - 30 * 86_400_000) } : {}) })
  const path = join(dir, 'app.ipa')
  await buildIpa(path, { info: { CFBundleIdentifier: options.bundleId, CFBundleDisplayName: options.name }, profile: signProfile(plist, signer) })
  const response = await server.upload(path)
  assert.equal(response.status, 201, response.text())
  return response.json()
}
