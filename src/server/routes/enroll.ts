import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import { deviceCookieHeader } from '../../devices/device-cookie.ts'
import { MAX_DEVICE_RESPONSE_BYTES } from '../../devices/device-response.ts'
import { enrollmentPageModel, resultBuildItems, type ResultBuildInput } from '../../devices/enrollment-pages.ts'
import { AirstripError, isAirstripError, type ErrorCode } from '../../errors.ts'
import { detectClient } from '../../ota/client-detection.ts'
import { versionLabel } from '../../ota/install-labels.ts'
import { qrCodeSvg } from '../../ota/qr-code.ts'
import type { DeviceInviteRecord } from '../../store/devices.ts'
import { isInviteToken } from '../../store/devices.ts'
import { enrollResultView, enrollView } from '../../web/enroll-views.ts'
import { layoutView, type NotFoundView } from '../../web/page-views.ts'
import { renderPage, type PageName } from '../../web/render.ts'
import { mintBuildLinks } from '../build-links.ts'
import { STATUS_BY_CODE } from '../error-handler.ts'

/** Media types iOS (and older tools) label a CMS SignedData with. */
const CMS_TYPES = ['application/pkcs7-signature', 'application/x-pkcs7-signature']

/** What a tester reads when an enrolment link does not work (Safari shows these pages). */
const PAGE_MESSAGES: Partial<Record<ErrorCode, { heading: string; message: string }>> = {
  'token-expired': { heading: 'This link has expired', message: 'Open the enrolment page again for a fresh download.' },
  'token-invalid': { heading: 'This link is not valid', message: 'It may be mistyped or cut short. Open the enrolment page again.' },
  'invite-not-found': { heading: 'This enrolment link no longer works', message: 'It has been revoked or mistyped. Ask whoever sent it for a new one.' },
  'enrollment-used': { heading: 'Already registered', message: 'This download has already registered a device. Open the enrolment page again to register another one.' },
  'device-not-found': { heading: 'This device is no longer listed', message: 'It was removed after registering. Open the enrolment page to register it again.' },
}

/**
 * UDID enrolment (the Profile Service flow): the page testers open in Safari, the `.mobileconfig`
 * it downloads, the device's signed answer (POSTed by iOS itself, no cookies: the token in the
 * path is the session), and the result page Safari opens after the 301, which sets the first-party
 * cookie install pages use to say whether a build will install on this device.
 */
export async function enrollRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { devices, meta } = services
  // Every body of this plugin is read raw and capped; what it is gets checked in the handler, so a
  // wrong type gets a precise 415 rather than a parser's error.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_DEVICE_RESPONSE_BYTES }, (_request, body, done) => done(null, body))

  const html = (reply: FastifyReply, status: number, page: PageName, data: object): FastifyReply =>
    reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').header('vary', 'user-agent').send(renderPage(page, data))

  /** Refusals on pages Safari shows become a page, not plain text. */
  const pageError = (request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply => {
    if (!isAirstripError(error) || (STATUS_BY_CODE[error.code] ?? 500) >= 500) throw error
    const text = PAGE_MESSAGES[error.code] ?? { heading: 'This didn’t work', message: error.message }
    const view: NotFoundView = { layout: layoutView(services, request.cspNonce, text.heading), ...text }
    return html(reply, STATUS_BY_CODE[error.code] ?? 400, 'not-found', view)
  }

  const enrollPage = async (request: FastifyRequest, reply: FastifyReply, invite: DeviceInviteRecord | null, pageUrl: string): Promise<FastifyReply> => {
    const known = await devices.deviceFromCookie(request.headers.cookie)
    const model = enrollmentPageModel({
      client: detectClient(request.headers['user-agent']),
      profileUrl: devices.startEnrollment(invite).profileUrl,
      pageUrl,
      organization: devices.organization,
      profilesSigned: devices.profilesSigned(),
      host: new URL(services.urls.origin).host,
      tester: invite?.tester ?? null,
      knownDevice: known,
    })
    const qrSvg = model.showQr ? await qrCodeSvg(model.qrText) : null
    return html(reply, 200, 'enroll', enrollView(services, { nonce: request.cspNonce, model, qrSvg }))
  }

  app.get('/enroll', async (request, reply) => enrollPage(request, reply, null, devices.urls.page()))

  app.get<{ Params: { invite: string } }>('/enroll/:invite', async (request, reply) => {
    const { invite: token } = request.params
    try {
      if (!isInviteToken(token)) throw new AirstripError('invite-not-found')
      return await enrollPage(request, reply, await devices.resolveInvite(token), devices.urls.invitePage(token))
    } catch (error) {
      return pageError(request, reply, error)
    }
  })

  app.get<{ Params: { token: string } }>('/enroll/:token/profile.mobileconfig', async (request, reply) => {
    try {
      const profile = await devices.enrollmentProfile(request.params.token)
      return reply
        .type('application/x-apple-aspen-config')
        .header('content-disposition', 'attachment; filename="register-device.mobileconfig"')
        .header('cache-control', 'no-store')
        .send(profile.body)
    } catch (error) {
      return pageError(request, reply, error)
    }
  })

  app.post<{ Params: { token: string } }>('/enroll/:token/device', { bodyLimit: MAX_DEVICE_RESPONSE_BYTES }, async (request, reply) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (!CMS_TYPES.includes(type) || !Buffer.isBuffer(request.body)) {
      throw new AirstripError('unsupported-media-type', `the device response must be a CMS SignedData sent as application/pkcs7-signature (got ${type || 'no content type'})`)
    }
    const { resultUrl, device } = await devices.acceptDeviceResponse(request.params.token, request.body)
    request.log.info({ device: device.id, family: device.family, signatureVerified: device.signatureVerified }, 'device enrolled')
    // iOS follows only a 301 to continue in Safari (a 200 or 302 leaves the flow hanging).
    return reply.code(301).header('location', resultUrl).header('cache-control', 'no-store').send()
  })

  app.get<{ Params: { token: string } }>('/enroll/:token/done', async (request, reply) => {
    try {
      const { device, cookieValue } = await devices.enrollmentResult(request.params.token)
      const builds: ResultBuildInput[] = []
      for (const summary of await meta.listApps()) {
        const build = summary.latestBuildId ? await meta.getBuild(summary.latestBuildId) : null
        if (!build) continue
        builds.push({
          appName: build.name || summary.name,
          versionLabel: versionLabel(build.version, build.build),
          info: build.info,
          pageUrl: services.urls.installPage(build.id),
          installUrl: mintBuildLinks(services, build).itmsServicesUrl,
        })
      }
      reply.header('set-cookie', deviceCookieHeader(cookieValue, { secure: services.urls.isHttps, path: `${services.urls.basePath}/` }))
      const items = resultBuildItems(device.udid, builds, services.now())
      return html(reply, 200, 'enroll-result', enrollResultView(services, { nonce: request.cspNonce, device, items }))
    } catch (error) {
      return pageError(request, reply, error)
    }
  })
}
