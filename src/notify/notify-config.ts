import type { SettingKey } from '../config.ts'
import { DEFAULT_SMS_JSON_TEMPLATE, type SmsProviderConfig } from './sms-request.ts'

/** The notification part of the config (`Config.notify`): channels and the outbox's retry policy. */
export interface NotifyConfig {
  /** Null: no SMTP configured, testers get no mail (webhooks and SMS still work). */
  email: { smtpUrl: string; from: string } | null
  sms: SmsProviderConfig | null
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number
  /** First retry after about this long (doubling each time, with jitter)… */
  retryBaseMs: number
  /** …never waiting longer than this between attempts. */
  retryMaxMs: number
  /** Let webhooks reach loopback/private addresses (off: SSRF protection). */
  webhookAllowPrivateNetworks: boolean
}

/** What `loadConfig` lends to read settings (its own validators, so errors read alike). */
export interface SettingReaders {
  text(key: SettingKey): string | undefined
  flag(key: SettingKey): boolean
  integer(key: SettingKey, fallback: number, min: number, max: number): number
  fail(message: string): never
}

const TWILIO_API = 'https://api.twilio.com/2010-04-01/Accounts'

/** Reads and checks the notification settings; `publicUrl` gives the default sender's domain. */
export function readNotifyConfig(read: SettingReaders, publicUrl: string): NotifyConfig {
  const smtpUrl = read.text('smtpUrl')
  if (smtpUrl !== undefined) {
    const protocol = parseUrl(read, 'smtpUrl', smtpUrl).protocol
    if (protocol !== 'smtp:' && protocol !== 'smtps:') read.fail(`smtpUrl: must be smtp://… or smtps://… (got ${protocol})`)
  }
  const from = read.text('mailFrom') ?? `Airstrip <airstrip@${new URL(publicUrl).hostname.replace(/^\[|\]$/g, '')}>`
  if (/[\r\n]/.test(from)) read.fail('mailFrom: must be one line')

  const retryBaseMs = read.integer('notifyRetryBaseMs', 30_000, 1, 24 * 60 * 60 * 1000)
  return {
    email: smtpUrl === undefined ? null : { smtpUrl, from },
    sms: readSms(read),
    maxAttempts: read.integer('notifyMaxAttempts', 10, 1, 100),
    retryBaseMs,
    retryMaxMs: Math.max(retryBaseMs, read.integer('notifyRetryMaxMs', 60 * 60 * 1000, 1, 7 * 24 * 60 * 60 * 1000)),
    webhookAllowPrivateNetworks: read.flag('webhookAllowPrivateNetworks'),
  }
}

function readSms(read: SettingReaders): SmsProviderConfig | null {
  const preset = read.text('smsProvider')
  if (preset === undefined) return null
  const url = read.text('smsUrl')
  if (url !== undefined) parseUrl(read, 'smsUrl', url)
  const from = read.text('smsFrom') ?? null
  const auth = read.text('smsAuth') ?? null
  if (preset === 'twilio') {
    const match = auth ? /^([^:]+):(.+)$/.exec(auth) : null
    if (!match) read.fail('smsAuth: the twilio preset needs "<account SID>:<auth token>"')
    if (!from) read.fail('smsFrom: the twilio preset needs a sender number or messaging service')
    const accountSid = match[1]!
    return { preset, url: url ?? `${TWILIO_API}/${encodeURIComponent(accountSid)}/Messages.json`, accountSid, authToken: match[2]!, from }
  }
  if (preset === 'json') {
    if (url === undefined) read.fail('smsUrl: the json preset needs the provider URL')
    let template: unknown = DEFAULT_SMS_JSON_TEMPLATE
    const templateText = read.text('smsJsonTemplate')
    if (templateText !== undefined) {
      try {
        template = JSON.parse(templateText)
      } catch {
        read.fail('smsJsonTemplate: not valid JSON')
      }
      if (!JSON.stringify(template).includes('{{text}}')) read.fail('smsJsonTemplate: must contain {{text}} in a string value')
    }
    return { preset, url, from, authorization: auth, template }
  }
  return read.fail(`smsProvider: "${preset}" is not one of twilio, json`)
}

function parseUrl(read: SettingReaders, key: string, value: string): URL {
  try {
    return new URL(value)
  } catch {
    return read.fail(`${key}: "${maskUrl(value)}" is not an absolute URL`)
  }
}

/** The notification lines of the start-up summary, with credentials masked. */
export function describeNotifyConfig(notify: NotifyConfig): string[] {
  const sms = notify.sms ? `${notify.sms.preset} via ${maskUrl(notify.sms.url)}` : 'off'
  return [
    `mail         ${notify.email ? `${maskUrl(notify.email.smtpUrl)} from ${notify.email.from}` : 'off (no --smtp-url)'}`,
    `SMS          ${sms}`,
    `deliveries   ${notify.maxAttempts} attempts, retry after ${notify.retryBaseMs} ms doubling to ${notify.retryMaxMs} ms${notify.webhookAllowPrivateNetworks ? ', webhooks may reach private networks' : ''}`,
  ]
}

/** smtp://user:secret@host → smtp://user:***@host; URLs that do not parse are masked whole. */
export function maskUrl(value: string): string {
  try {
    const url = new URL(value)
    if (url.password) url.password = '***'
    // Query strings of provider URLs often carry API keys.
    if (url.search) url.search = '?***'
    return url.href
  } catch {
    return '***'
  }
}
