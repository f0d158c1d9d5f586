import type { FastifyRequest } from 'fastify'
import type { Services } from '../app.ts'
import type { DoctorReport } from '../doctor/types.ts'
import type { BuildRecord } from '../store/records.ts'
import { mintBuildLinks } from './build-links.ts'

/** A self-diagnosis fetches the server's own pages, manifest and .ipa: bounded in time. */
const SELF_CHECK_TIMEOUT_MS = 30_000
const FORWARDED = ['forwarded', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-for']

export interface SelfDiagnosisOptions {
  udid?: string | null
  ios?: string | null
}

/**
 * Runs `airstrip doctor` against this server's own public URL for a build, as a device reaches it
 * from outside, plus whether requests arrive on the public URL (forwarded headers). Used by
 * `GET /api/v1/doctor` and the admin build page. Runs are serialised (one at a time per process):
 * each one downloads parts of an .ipa from ourselves.
 *
 * A public build is diagnosed from its install page. A password or invite-only build's page shows a
 * form or a 403 to an anonymous visitor, so doctor starts from a freshly minted itms-services link
 * instead (the same kind of link the API hands to CI), which still checks TLS, manifest and .ipa.
 */
export function createSelfDiagnosis(services: Services): (request: FastifyRequest, build: BuildRecord, options?: SelfDiagnosisOptions) => Promise<DoctorReport> {
  let queue: Promise<unknown> = Promise.resolve()
  return (request, build, options = {}) => {
    const run = queue.then(() => diagnose(services, request, build, options))
    queue = run.catch(() => {})
    return run
  }
}

async function diagnose(services: Services, request: FastifyRequest, build: BuildRecord, options: SelfDiagnosisOptions): Promise<DoctorReport> {
  const { runDoctor } = await import('../doctor/run-doctor.ts')
  const policy = await services.access.policyFor(build)
  const target = policy.mode === 'public' ? services.urls.installPage(build.id) : mintBuildLinks(services, build).itmsServicesUrl
  return runDoctor({
    target,
    udid: options.udid ?? null,
    ios: options.ios ?? null,
    // With the dev CA, devices trust what they installed from /ca.mobileconfig: so does the self-check.
    caPems: services.devCaDer ? [toPem(services.devCaDer)] : [],
    now: services.now(),
    timeoutMs: SELF_CHECK_TIMEOUT_MS,
    server: {
      publicUrl: services.config.publicUrl,
      requestOrigin: `${request.protocol}://${request.host}`,
      trustProxy: services.config.trustProxy,
      forwardedHeaders: forwardedHeaders(request),
    },
  })
}

function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const name of FORWARDED) {
    const value = request.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  return headers
}

function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`
}
