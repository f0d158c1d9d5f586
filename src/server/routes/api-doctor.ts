import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { requireApiToken } from '../api-auth.ts'
import { createSelfDiagnosis } from '../self-diagnosis.ts'
import { ErrorBody } from '../schemas/builds.ts'
import { DoctorQuery, DoctorReportBody } from '../schemas/doctor.ts'

/**
 * `GET /api/v1/doctor[?build=&udid=&ios=]`: Airstrip runs `airstrip doctor` against its own public URL
 * for a build (the latest by default) — install page, TLS, manifest and .ipa as a device reaches
 * them from outside — plus whether requests arrive on the public URL (forwarded headers).
 */
export async function apiDoctorRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('preHandler', requireApiToken(services))
  const selfDiagnose = createSelfDiagnosis(services)

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
      const report = await selfDiagnose(request, build, { udid: request.query.udid ?? null, ios: request.query.ios ?? null })
      return { target: report.target, build: build.id, checks: report.checks }
    },
  )
}
