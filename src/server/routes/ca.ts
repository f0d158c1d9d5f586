import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { AirstripError } from '../../errors.ts'
import { buildCaProfile } from '../../tls/ca-profile.ts'

/**
 * With --dev-tls, a test iPhone must trust Airstrip's local CA before iOS will fetch a manifest:
 * the CA as a certificate and as a configuration profile (Settings › General › About › Certificate
 * Trust Settings afterwards).
 */
export async function caRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const caDer = (): Buffer => {
    if (!services.devCaDer) throw new AirstripError('not-found', 'this server uses a certificate from a public CA; there is no local CA to install')
    return services.devCaDer
  }
  app.get('/ca.crt', async (_request, reply) => reply.type('application/x-x509-ca-cert').header('content-disposition', 'attachment; filename="airstrip-ca.crt"').send(caDer()))
  app.get('/ca.mobileconfig', async (_request, reply) =>
    reply
      .type('application/x-apple-aspen-config')
      .header('content-disposition', 'attachment; filename="airstrip-ca.mobileconfig"')
      .send(buildCaProfile({ caCertDer: caDer(), displayName: `Airstrip CA (${new URL(services.config.publicUrl).hostname})`, identifier: 'dev.airstrip.ca' })),
  )
}
