import { buildTitle, cleanLine, type BuildCreatedData } from './event-payloads.ts'

/** How SMS leave Airstrip: one HTTP POST to a provider, in one of two shapes. */
export type SmsProviderConfig =
  | {
      /** Twilio's Messages API, or any provider that copies it: form POST To/From/Body, HTTP Basic auth. */
      preset: 'twilio'
      url: string
      accountSid: string
      authToken: string
      from: string
    }
  | {
      /** Any JSON API: the template's string values get {{to}}, {{from}} and {{text}} substituted. */
      preset: 'json'
      url: string
      from: string | null
      /** Sent as the Authorization header when set (e.g. "Bearer …"). */
      authorization: string | null
      template: unknown
    }

export const DEFAULT_SMS_JSON_TEMPLATE = { to: '{{to}}', from: '{{from}}', text: '{{text}}' }

/** A single SMS segment holds 160 GSM-7 characters; stay inside it so the link is never split. */
const SMS_MAX = 160

/** "MyApp 1.2 (45) is ready: https://…/i/…" — the link whole, the title shortened to fit. */
export function buildReleaseSms(data: BuildCreatedData): string {
  const link = data.installPageUrl
  const suffix = ` is ready: ${link}`
  const room = Math.max(12, SMS_MAX - suffix.length)
  return `${cleanLine(buildTitle(data.app.name, data.build.version, data.build.build), room)}${suffix}`
}

export interface ProviderRequest {
  url: string
  headers: Record<string, string>
  body: string
}

/** The provider request for one text to `to` (E.164). Pure: the sender only POSTs it. */
export function buildSmsRequest(provider: SmsProviderConfig, to: string, text: string): ProviderRequest {
  if (provider.preset === 'twilio') {
    const body = new URLSearchParams({ To: to, From: provider.from, Body: text }).toString()
    return {
      url: provider.url,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${provider.accountSid}:${provider.authToken}`, 'utf8').toString('base64')}`,
      },
      body,
    }
  }
  const values: Record<string, string> = { to, from: provider.from ?? '', text }
  const body = JSON.stringify(fillTemplate(provider.template, values))
  return {
    url: provider.url,
    headers: { 'content-type': 'application/json', ...(provider.authorization ? { authorization: provider.authorization } : {}) },
    body,
  }
}

/**
 * Substitutes placeholders inside string values only, after the template was parsed as JSON: the
 * values are then escaped by JSON.stringify, so a quote in an app name cannot break the body
 * (text templating of JSON would need its own escaping).
 */
function fillTemplate(template: unknown, values: Record<string, string>): unknown {
  if (typeof template === 'string') return template.replace(/\{\{(to|from|text)\}\}/g, (_, key: string) => values[key] ?? '')
  if (Array.isArray(template)) return template.map((item) => fillTemplate(item, values))
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fillTemplate(value, values)]))
  }
  return template
}
