import { createPrivateKey, sign, type KeyObject } from 'node:crypto'
import { request } from 'node:https'
import { AirstripError } from '../errors.ts'

/** Apple's API origin. Tests point the client at a local server that implements the same contract. */
export const APP_STORE_CONNECT_URL = 'https://api.appstoreconnect.apple.com'
/** Apple refuses tokens that live longer than 20 minutes; ours live 15 and are reused until 1 minute before. */
export const TOKEN_LIFETIME_SECONDS = 15 * 60
/** Devices per family per membership year (Apple Developer Program). Disabling or deleting frees nothing. */
export const YEARLY_DEVICE_LIMIT = 100
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024
const MAX_PAGES = 100
const TIMEOUT_MS = 20_000

/** An App Store Connect API key: issuer id, key id and the `.p8` EC P-256 private key. */
export interface AppStoreConnectKey {
  issuerId: string
  keyId: string
  privateKey: KeyObject
}

/** Reads and checks a key; throws `app-store-connect-not-configured` naming what is wrong. */
export function loadAppStoreConnectKey(input: { issuerId: string; keyId: string; p8: string }): AppStoreConnectKey {
  const fail = (why: string): AirstripError => new AirstripError('app-store-connect-not-configured', `App Store Connect key: ${why}`)
  if (!/^[A-Za-z0-9-]{1,100}$/.test(input.issuerId)) throw fail('the issuer id looks wrong (a UUID from Users and Access › Integrations)')
  if (!/^[A-Z0-9]{1,20}$/.test(input.keyId)) throw fail('the key id looks wrong (10 characters, e.g. 2X9R4HXF34)')
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(input.p8)
  } catch {
    throw fail('the .p8 file is not a readable private key')
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw fail('the .p8 key is not an EC P-256 key')
  return { issuerId: input.issuerId, keyId: input.keyId, privateKey }
}

/**
 * The bearer token Apple expects: a JWT signed ES256 with the key, header `{ alg, kid, typ }`,
 * claims `{ iss, iat, exp, aud: "appstoreconnect-v1" }`, `exp` at most 20 minutes after `iat`.
 * ECDSA signatures in JWTs are raw r‖s (IEEE P1363), not DER.
 */
export function appStoreConnectToken(key: AppStoreConnectKey, now: Date, lifetimeSeconds = TOKEN_LIFETIME_SECONDS): string {
  if (lifetimeSeconds <= 0 || lifetimeSeconds > 20 * 60) throw new Error('App Store Connect tokens live at most 20 minutes')
  const iat = Math.floor(now.getTime() / 1000)
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const signingInput = `${part({ alg: 'ES256', kid: key.keyId, typ: 'JWT' })}.${part({ iss: key.issuerId, iat, exp: iat + lifetimeSeconds, aud: 'appstoreconnect-v1' })}`
  const signature = sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${signingInput}.${signature.toString('base64url')}`
}

/** A device as App Store Connect lists it. */
export interface AppleDevice {
  id: string
  name: string
  udid: string
  platform: string
  status: string
  /** IPHONE, IPAD, IPOD, APPLE_WATCH, APPLE_TV, MAC, APPLE_VISION_PRO… */
  deviceClass: string
  model: string | null
  addedDate: string | null
}

export type RegisterOutcome =
  | { status: 'registered'; device: AppleDevice }
  | { status: 'already-registered'; message: string }
  | { status: 'refused'; message: string }

export interface AppStoreConnectClient {
  /** `POST /v1/devices`. Apple's "already exists on this team" is an outcome, not an error. */
  registerDevice(input: { name: string; udid: string; platform: 'IOS' | 'MAC_OS' }): Promise<RegisterOutcome>
  /** Every device of the account (`GET /v1/devices`, all pages). */
  listDevices(): Promise<AppleDevice[]>
}

export interface AppStoreConnectClientOptions {
  key: AppStoreConnectKey
  now: () => Date
  /** Default Apple's; must be https. */
  baseUrl?: string
  /** Extra trusted CA (PEM) for a non-Apple base URL. */
  ca?: string
}

/** A small client for the two device endpoints Airstrip uses; responses are size-capped and time-limited. */
export function createAppStoreConnectClient(options: AppStoreConnectClientOptions): AppStoreConnectClient {
  const base = new URL(options.baseUrl ?? APP_STORE_CONNECT_URL)
  if (base.protocol !== 'https:') throw new Error('the App Store Connect URL must be https')
  let cached: { token: string; expiresAt: number } | null = null
  const bearer = (): string => {
    const now = options.now()
    if (!cached || cached.expiresAt - now.getTime() < 60_000) {
      cached = { token: appStoreConnectToken(options.key, now), expiresAt: now.getTime() + TOKEN_LIFETIME_SECONDS * 1000 }
    }
    return cached.token
  }
  const call = (method: 'GET' | 'POST', url: URL, body?: object): Promise<{ status: number; json: unknown }> =>
    send(method, url, { authorization: `Bearer ${bearer()}` }, body, options.ca)

  return {
    async registerDevice(input) {
      const { status, json } = await call('POST', new URL('/v1/devices', base), { data: { type: 'devices', attributes: { name: input.name, udid: input.udid, platform: input.platform } } })
      if (status === 201) return { status: 'registered', device: toDevice(dataOf(json)) }
      const message = appleErrorMessage(json) ?? `HTTP ${status}`
      if (status === 409 && /already exists/i.test(message)) return { status: 'already-registered', message }
      if (status === 409 || status === 422) return { status: 'refused', message }
      throw new AirstripError('app-store-connect-failed', `App Store Connect answered ${status} to POST /v1/devices: ${message}`)
    },
    async listDevices() {
      const devices: AppleDevice[] = []
      let url: URL | null = new URL('/v1/devices?limit=200', base)
      for (let page = 0; url && page < MAX_PAGES; page++) {
        const { status, json } = await call('GET', url)
        if (status !== 200) throw new AirstripError('app-store-connect-failed', `App Store Connect answered ${status} to GET /v1/devices: ${appleErrorMessage(json) ?? 'no reason given'}`)
        const data = (json as { data?: unknown }).data
        if (!Array.isArray(data)) throw new AirstripError('app-store-connect-failed', 'App Store Connect sent a device list without "data"')
        devices.push(...data.map(toDevice))
        const next = (json as { links?: { next?: unknown } }).links?.next
        // Follow only links to the same origin: the bearer token must never go elsewhere.
        url = typeof next === 'string' && new URL(next, base).origin === base.origin ? new URL(next, base) : null
      }
      return devices
    },
  }
}

/** Per family (deviceClass), how many of the yearly slots the account's listed devices use. */
export function familyUsage(devices: readonly AppleDevice[]): Array<{ deviceClass: string; count: number; limit: number; remaining: number }> {
  const counts = new Map<string, number>()
  for (const device of devices) counts.set(device.deviceClass, (counts.get(device.deviceClass) ?? 0) + 1)
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([deviceClass, count]) => ({ deviceClass, count, limit: YEARLY_DEVICE_LIMIT, remaining: Math.max(0, YEARLY_DEVICE_LIMIT - count) }))
}

function send(method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body: object | undefined, ca: string | undefined): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const failed = (why: string): void => reject(new AirstripError('app-store-connect-failed', `App Store Connect ${method} ${url.pathname}: ${why}`))
    const req = request(
      url,
      {
        method,
        headers: { ...headers, accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        ...(ca ? { ca } : {}),
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy()
            failed(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`)
          } else chunks.push(chunk)
        })
        res.on('error', (error) => failed(error.message))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown = null
          try {
            json = text === '' ? null : JSON.parse(text)
          } catch {
            return failed(`HTTP ${res.statusCode}, and the body is not JSON`)
          }
          resolve({ status: res.statusCode ?? 0, json })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)))
    req.on('error', (error) => failed(error.message))
    req.end(payload)
  })
}

function dataOf(json: unknown): unknown {
  return json && typeof json === 'object' ? (json as { data?: unknown }).data : undefined
}

function toDevice(value: unknown): AppleDevice {
  const item = (value ?? {}) as { id?: unknown; attributes?: Record<string, unknown> }
  const attributes = item.attributes ?? {}
  const text = (key: string): string | null => (typeof attributes[key] === 'string' ? (attributes[key] as string) : null)
  if (typeof item.id !== 'string' || text('udid') === null) throw new AirstripError('app-store-connect-failed', 'App Store Connect sent a device without id or udid')
  return {
    id: item.id,
    name: text('name') ?? '',
    udid: text('udid')!,
    platform: text('platform') ?? 'IOS',
    status: text('status') ?? 'ENABLED',
    deviceClass: text('deviceClass') ?? 'UNKNOWN',
    model: text('model'),
    addedDate: text('addedDate'),
  }
}

/** Apple's JSON:API errors: `{ errors: [{ status, code, title, detail }] }` → "title: detail". */
function appleErrorMessage(json: unknown): string | null {
  const errors = json && typeof json === 'object' ? (json as { errors?: unknown }).errors : undefined
  if (!Array.isArray(errors) || errors.length === 0) return null
  return errors
    .slice(0, 5)
    .map((error: { title?: unknown; detail?: unknown; code?: unknown }) => [error.code, error.title, error.detail].filter((part) => typeof part === 'string').join(': '))
    .join('; ')
    .slice(0, 1000)
}
