import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type * as pkijs from 'pkijs'
import { AirstripError, isAirstripError } from '../errors.ts'
import type { PublicUrls } from '../ota/public-urls.ts'
import type { UrlSigner } from '../ota/url-token.ts'
import type { DeviceInviteRecord, DeviceRecord, DeviceStore } from '../store/devices.ts'
import { appleAccountUsage, registerDevicesWithApple, type AppleRegistration, type AppleUsage } from './apple-registration.ts'
import { createAppStoreConnectClient, loadAppStoreConnectKey, type AppStoreConnectClient } from './app-store-connect.ts'
import { createCmsSigner, type CmsSigner } from './cms-signer.ts'
import type { DeviceConfig } from './device-config.ts'
import { DEVICE_COOKIE, DEVICE_COOKIE_TTL_SECONDS, readCookie } from './device-cookie.ts'
import { describeModel } from './device-models.ts'
import { tidyDeviceName } from './device-names.ts'
import { parseCertificatesPem, readDeviceResponse } from './device-response.ts'
import { createEnrollmentUrls, type EnrollmentUrls } from './enrollment-urls.ts'
import { buildProfileServicePayload, enrolmentProfileIdentifier } from './profile-service.ts'

/** How long an enrolment page's download link works. */
export const PAGE_TOKEN_TTL_SECONDS = 2 * 60 * 60
/** From download to the device's answer: iOS drops a downloaded profile after about 8 minutes; installing takes a few more. */
export const ENROLLMENT_TTL_SECONDS = 15 * 60
/** The result page's link (the 301 target). */
export const RESULT_TOKEN_TTL_SECONDS = 60 * 60

/** Fired after a device's answer is stored (webhooks and notifications subscribe). */
export interface DeviceEnrolledEvent {
  type: 'device.enrolled'
  device: DeviceRecord
  /** False when a known device enrolled again. */
  firstTime: boolean
  at: string
}

/**
 * The devices feature as the routes and the CLI use it: the enrolment flow (page visit → signed
 * profile → device answer → result page → cookie), invites, and App Store Connect. No HTTP and no
 * SQL here: the store, the URL signer and the clock are injected.
 */
export interface DeviceService {
  store: DeviceStore
  urls: EnrollmentUrls
  /** True when enrolment profiles go out signed (with the HTTPS certificate); false: unsigned. */
  profilesSigned(): boolean
  /** Null when no API key is configured. */
  appStoreConnect: AppStoreConnectClient | null
  organization: string
  /** A fresh download link for one visit of an enrolment page (nothing is stored until the download). */
  startEnrollment(invite: DeviceInviteRecord | null): { profileUrl: string }
  /** The invite behind a personal link; `invite-not-found` when unknown or revoked. */
  resolveInvite(token: string): Promise<DeviceInviteRecord>
  /** The `.mobileconfig` for a download link: opens the enrolment with a new challenge. */
  enrollmentProfile(sessionToken: string): Promise<{ body: Buffer; signed: boolean }>
  /** Checks and stores a device's answer; returns the https result page to redirect to. */
  acceptDeviceResponse(callbackToken: string, body: Uint8Array): Promise<{ resultUrl: string; device: DeviceRecord }>
  /** The device a result link shows, with the cookie value to set. */
  enrollmentResult(resultToken: string): Promise<{ device: DeviceRecord; cookieValue: string }>
  /** The device named by the cookie header, or null (absent, forged, expired, deleted). */
  deviceFromCookie(cookieHeader: string | undefined): Promise<DeviceRecord | null>
  createInvite(tester: string): Promise<{ invite: DeviceInviteRecord; url: string }>
  /** Registers devices with App Store Connect (names cleaned to Apple's limits); one outcome per device. */
  registerWithApple(deviceIds: readonly string[]): Promise<AppleRegistration[]>
  /** The account's devices per family against Apple's yearly limit. */
  appleUsage(): Promise<AppleUsage>
  /** Subscribes to `device.enrolled`; returns the unsubscribe function. */
  onEnrolled(listener: (event: DeviceEnrolledEvent) => void | Promise<void>): () => void
}

export interface DeviceServiceOptions {
  config: Readonly<DeviceConfig>
  store: DeviceStore
  signer: UrlSigner
  urls: PublicUrls
  now: () => Date
  /** The HTTPS certificate chain and key (PEM) in service, to sign profiles with; null: unsigned. Asked at every download (certificates renew). */
  profileSigning: () => { certificateChainPem: string; privateKeyPem: string } | null
  /** For tests: App Store Connect at another https origin, with its CA. */
  appStoreConnectEndpoint?: { baseUrl: string; ca?: string }
  /** Where listener failures go (they never fail an enrolment). */
  logError?: (error: unknown, message: string) => void
}

/** Builds the device service; reads the configured device CA and App Store Connect key files. */
export async function createDeviceService(options: DeviceServiceOptions): Promise<DeviceService> {
  const { config, store, signer, now } = options
  const urls = createEnrollmentUrls(options.urls)
  let cached: { certificateChainPem: string; signer: CmsSigner } | null = null
  const currentSigner = async (): Promise<CmsSigner | null> => {
    const pair = options.profileSigning()
    if (!pair) return null
    if (cached?.certificateChainPem !== pair.certificateChainPem) cached = { certificateChainPem: pair.certificateChainPem, signer: await createCmsSigner(pair) }
    return cached.signer
  }
  // A certificate or key that cannot sign is a start-up error, not a failed download later.
  await currentSigner()
  const trustedDeviceCas: pkijs.Certificate[] | null = config.deviceCaPath ? await parseCertificatesPem(await readFile(config.deviceCaPath, 'utf8')) : null
  if (trustedDeviceCas && trustedDeviceCas.length === 0) throw new Error(`--device-ca ${config.deviceCaPath} holds no PEM certificate`)
  const asc = config.appStoreConnect
  const appStoreConnect = asc
    ? createAppStoreConnectClient({
        key: loadAppStoreConnectKey({ issuerId: asc.issuerId, keyId: asc.keyId, p8: await readFile(asc.keyPath, 'utf8') }),
        now,
        ...(options.appStoreConnectEndpoint ?? {}),
      })
    : null
  const listeners = new Set<(event: DeviceEnrolledEvent) => void | Promise<void>>()
  const identifier = enrolmentProfileIdentifier(new URL(options.urls.origin).hostname)

  const subjectOf = (token: string, kind: SubjectKind): string => {
    const { subject } = signer.verify(token, 'enroll')
    if (!subject.startsWith(`${kind}-`)) throw new AirstripError('token-invalid', 'the link is invalid (wrong kind)')
    return subject.slice(2)
  }

  return {
    store,
    urls,
    profilesSigned: () => options.profileSigning() !== null,
    appStoreConnect,
    organization: config.organization,

    startEnrollment(invite) {
      const session = randomBytes(16).toString('hex')
      const subject = invite ? `s-${session}-${invite.id}` : `s-${session}`
      return { profileUrl: urls.profile(signer.sign({ purpose: 'enroll', subject, ttlSeconds: PAGE_TOKEN_TTL_SECONDS })) }
    },

    async resolveInvite(token) {
      const invite = await store.findInviteByToken(token)
      if (!invite) throw new AirstripError('invite-not-found')
      return invite
    },

    async enrollmentProfile(sessionToken) {
      const rest = subjectOf(sessionToken, 's')
      const session = rest.slice(0, 32)
      const inviteId = rest.length > 33 && rest[32] === '-' ? rest.slice(33) : null
      if (!/^[0-9a-f]{32}$/.test(session)) throw new AirstripError('token-invalid', 'the link is invalid (malformed session)')
      if (inviteId && !(await store.getInvite(inviteId))) throw new AirstripError('invite-not-found', 'this personal enrolment link has been revoked')
      const challenge = randomBytes(32).toString('base64url')
      const expiresAt = new Date(now().getTime() + ENROLLMENT_TTL_SECONDS * 1000)
      const opened = await store.openEnrollment({ id: session, inviteId, challengeHash: sha256(challenge), expiresAt: expiresAt.toISOString() })
      if (opened === 'completed') throw new AirstripError('enrollment-used')
      const callbackToken = signer.sign({ purpose: 'enroll', subject: `c-${session}`, ttlSeconds: ENROLLMENT_TTL_SECONDS })
      const xml = buildProfileServicePayload({
        callbackUrl: urls.callback(callbackToken),
        challenge,
        displayName: config.enrollProfileName,
        organization: config.organization,
        identifier,
      })
      const content = Buffer.from(xml, 'utf8')
      const cmsSigner = await currentSigner()
      return cmsSigner ? { body: await cmsSigner.sign(content, now()), signed: true } : { body: content, signed: false }
    },

    async acceptDeviceResponse(callbackToken, body) {
      const session = subjectOf(callbackToken, 'c')
      const response = await readDeviceResponse(body, { now: now(), trustedCas: trustedDeviceCas })
      const enrollment = await store.getEnrollment(session)
      if (!enrollment) throw new AirstripError('enrollment-expired', 'this enrolment is unknown or was cleaned up; open the enrolment page again')
      if (enrollment.completedAt) throw new AirstripError('enrollment-used')
      if (Date.parse(enrollment.expiresAt) <= now().getTime()) throw new AirstripError('enrollment-expired')
      if (response.challenge === null) throw new AirstripError('challenge-mismatch', 'the device response carries no CHALLENGE')
      const given = Buffer.from(sha256(response.challenge), 'hex')
      if (!timingSafeEqual(given, Buffer.from(enrollment.challengeHash, 'hex'))) throw new AirstripError('challenge-mismatch')

      const model = describeModel(response.product)
      const completed = await store.completeEnrollment(session, {
        udid: response.udid,
        reportedName: tidyDeviceName(response.deviceName),
        product: model.product,
        modelName: model.name,
        family: model.family,
        osVersion: response.version,
        serial: response.serial,
        signatureVerified: response.signature.verified,
        chainVerified: response.signature.chainVerified,
      })
      if (!completed) throw new AirstripError('enrollment-used')
      const event: DeviceEnrolledEvent = { type: 'device.enrolled', device: completed.device, firstTime: completed.firstTime, at: now().toISOString() }
      for (const listener of listeners) {
        Promise.resolve()
          .then(() => listener(event))
          .catch((error: unknown) => options.logError?.(error, 'a device.enrolled listener failed'))
      }
      const resultToken = signer.sign({ purpose: 'enroll', subject: `r-${completed.device.id}`, ttlSeconds: RESULT_TOKEN_TTL_SECONDS })
      return { resultUrl: urls.result(resultToken), device: completed.device }
    },

    async enrollmentResult(resultToken) {
      const device = await store.getDevice(subjectOf(resultToken, 'r'))
      if (!device) throw new AirstripError('device-not-found', 'this device has been removed from the list since it enrolled')
      return { device, cookieValue: signer.sign({ purpose: 'enroll', subject: `d-${device.id}`, ttlSeconds: DEVICE_COOKIE_TTL_SECONDS }) }
    },

    async deviceFromCookie(cookieHeader) {
      const value = readCookie(cookieHeader, DEVICE_COOKIE)
      if (!value) return null
      try {
        return await store.getDevice(subjectOf(value, 'd'))
      } catch (error) {
        if (isAirstripError(error)) return null
        throw error
      }
    },

    async createInvite(tester) {
      const { invite, token } = await store.createInvite(tester)
      return { invite, url: urls.invitePage(token) }
    },

    registerWithApple: (deviceIds) => registerDevicesWithApple(store, requireAppStoreConnect(appStoreConnect), deviceIds),
    appleUsage: async () => appleAccountUsage(requireAppStoreConnect(appStoreConnect)),

    onEnrolled(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}

/** What an `enroll` token's subject stands for: s(ession page), c(allback), r(esult), d(evice cookie). */
type SubjectKind = 's' | 'c' | 'r' | 'd'

function requireAppStoreConnect(client: AppStoreConnectClient | null): AppStoreConnectClient {
  if (!client) throw new AirstripError('app-store-connect-not-configured')
  return client
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/**
 * The chain and key to sign enrolment profiles with, from the HTTPS server's options: the
 * certificate file is the full chain; a dev CA (DER) is appended so a device that trusts it shows
 * the profile as verified. Null when the server has no certificate of its own (plain HTTP).
 */
export function profileSigningFromTls(tls: { cert?: unknown; key?: unknown } | null, devCaDer: Buffer | null): { certificateChainPem: string; privateKeyPem: string } | null {
  if (!tls || typeof tls.cert !== 'string' || typeof tls.key !== 'string') return null
  const caPem = devCaDer ? `-----BEGIN CERTIFICATE-----\n${devCaDer.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n` : ''
  return { certificateChainPem: `${tls.cert.trimEnd()}\n${caPem}`, privateKeyPem: tls.key }
}
