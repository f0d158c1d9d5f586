import type { FollowedFetch, HttpResponse } from '../http-fetch.ts'
import type { CheckOutcome } from '../types.ts'

export const pass = (message: string, evidence?: Record<string, unknown>): CheckOutcome => ({ status: 'pass', message, ...(evidence ? { evidence } : {}) })
export const warn = (message: string, evidence?: Record<string, unknown>, fix?: string): CheckOutcome => ({
  status: 'warn',
  message,
  ...(evidence ? { evidence } : {}),
  ...(fix ? { fix } : {}),
})
export const fail = (message: string, evidence?: Record<string, unknown>, fix?: string): CheckOutcome => ({
  status: 'fail',
  message,
  ...(evidence ? { evidence } : {}),
  ...(fix ? { fix } : {}),
})
export const skip = (message: string): CheckOutcome => ({ status: 'skip', message })

/** The last response of a followed fetch, or null when it failed. */
export function finalResponse(fetch: FollowedFetch | null | undefined): HttpResponse | null {
  return fetch?.result.ok ? fetch.result.response : null
}

/** "Text/XML; charset=utf-8" → "text/xml"; null when absent. */
export function mediaType(response: HttpResponse): string | null {
  const value = response.headers['content-type']
  return value ? value.split(';')[0]!.trim().toLowerCase() : null
}

/** A compact, JSON-friendly record of a response for the report's evidence. */
export function responseEvidence(response: HttpResponse, names: readonly string[]): Record<string, unknown> {
  const headers: Record<string, string> = {}
  for (const name of names) if (response.headers[name] !== undefined) headers[name] = response.headers[name]
  return { url: response.url, status: response.status, headers, ...(response.tlsBypassed ? { tlsBypassed: response.tlsBypassed } : {}) }
}

/** How a redirect chain reads in a message: "302 → https://b/…, 301 → https://c/…". */
export function describeHops(fetch: FollowedFetch): string {
  return fetch.hops.map((hop) => `${hop.status} → ${hop.location}`).join(', ')
}

export function host(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
