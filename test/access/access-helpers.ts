// Shared by the access tests: uploads to a channel, reading what the install pages and manifests
// hand out (API calls with the test token: test/support/api.ts).
import { createReadStream, statSync } from 'node:fs'
import { parse as parsePlist } from 'plist'
import type { HttpResponse, TestServer } from '../support/server.ts'

/** Uploads an .ipa as a raw body to `channel` (through `?channel=`). */
export async function uploadTo(server: TestServer, path: string, channel: string): Promise<any> {
  const response = await server.request(`${server.url}/api/v1/builds?channel=${encodeURIComponent(channel)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(path).size) },
    body: () => createReadStream(path),
  })
  if (response.status !== 201) throw new Error(`upload failed: ${response.status} ${response.text()}`)
  return response.json()
}

/** The manifest URL inside a page's itms-services Install link (as a browser decodes the attribute). */
export function manifestUrlOf(itmsHref: string): string {
  const url = new URL(itmsHref).searchParams.get('url')
  if (!url) throw new Error(`no manifest URL in ${itmsHref}`)
  return url
}

/** The .ipa and icon URLs a manifest names. */
export function assetsOf(manifest: HttpResponse): { ipa: string; icon: string | null } {
  const plist = parsePlist(manifest.text()) as unknown as { items: Array<{ assets: Array<Record<string, string>> }> }
  const assets = plist.items[0]!.assets
  return { ipa: assets.find((a) => a['kind'] === 'software-package')!['url']!, icon: assets.find((a) => a['kind'] === 'display-image')?.['url'] ?? null }
}

/** What a signed link's token says: version, purpose, subject, expiry (unix seconds), grant. */
export function tokenOf(url: string): { version: string; purpose: string; subject: string; expiry: number; grant: string | null } {
  const segment = new URL(url).pathname.split('/')[2]!.replace(/\.png$/, '')
  const [version, purpose, subject, expiry, grant] = Buffer.from(segment.split('.')[0]!, 'base64url').toString('utf8').split(':')
  return { version: version!, purpose: purpose!, subject: subject!, expiry: Number(expiry), grant: grant ?? null }
}
