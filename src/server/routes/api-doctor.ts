import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Services } from '../../app.ts'
import type { ServerEvidence } from '../../doctor/evidence.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { ErrorBody } from '../schemas/builds.ts'
import { DoctorQuery, DoctorReportBody } from '../schemas/doctor.ts'

/** A self-diagnosis fetches the server's own pages, manifest and .ipa: bounded, and one at a time. */
const SELF_CHECK_TIMEOUT_MS = 30_000
const FORWARDED = ['forwarded', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-for']

/**
 * `GET /api/v1/doctor[?build=&udid=&ios=]`: Airstrip runs `airstrip doctor` against its own public URL
 * for a build (the latest by default) — install page, TLS, manifest and .ipa as a device reaches
 * them from outside — plus whether requests arrive on the public URL (forwarded headers).
 */
export async function apiDoctorRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('preHandler', requireApiToken(services))
  let queue: Promise<unknown> = Promise.resolve()

  app.get(
    '/api/v1/doctor',
    {
      schema: {
        tags: ['doctor'],
        summary: "Diagnose a build's deployment from the outside, as iOS fetches it (the checks of `airstrip doctor`)",
        querystring: DoctorQuery,
        response: { 200: DoctorReportBody, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      },
    },
    async (request) => {
      const build = request.query.build ? await services.meta.getBuild(request.query.build) : (await services.meta.listBuilds({ limit: 1 })).builds[0]
      if (!build) throw new AirstripError('build-not-found', request.query.build ? 'no such build' : 'there is no build to diagnose yet')
      const { runDoctor } = await import('../../doctor/run-doctor.ts')
      const run = queue.then(() =>
        runDoctor({
          target: services.urls.installPage(build.id),
          udid: request.query.udid ?? null,
          ios: request.query.ios ?? null,
          // With the dev CA, devices trust what they installed from /ca.mobileconfig: so does the self-check.
          caPems: services.devCaDer ? [toPem(services.devCaDer)] : [],
          now: services.now(),
          timeoutMs: SELF_CHECK_TIMEOUT_MS,
          server: serverEvidence(services, request),
        }),
      )
      queue = run.catch(() => {})
      const report = await run
      return { target: report.target, build: build.id, checks: report.checks }
    },
  )
}

function serverEvidence(services: Services, request: FastifyRequest): ServerEvidence {
  const forwardedHeaders: Record<string, string> = {}
  for (const name of FORWARDED) {
    const value = request.headers[name]
    if (typeof value === 'string') forwardedHeaders[name] = value
  }
  return {
    publicUrl: services.config.publicUrl,
    requestOrigin: `${request.protocol}://${request.host}`,
    trustProxy: services.config.trustProxy,
    forwardedHeaders,
  }
}

function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`
}
