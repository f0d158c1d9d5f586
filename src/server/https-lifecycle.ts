import { once } from 'node:events'
import type { Server as HttpServer } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import type { AcmeManager } from '../tls/acme-manager.ts'
import { createHttpPortServer } from '../tls/acme-http-port.ts'

/**
 * Runs what lives beside the HTTPS server: the plain-HTTP port (ACME HTTP-01 answers, redirects
 * to HTTPS) and automatic renewals. Both start when the HTTPS server listens and stop when it
 * closes, so `createApp` stays side-effect free until `listen`. A plain-HTTP port that cannot be
 * opened (in use, or port 80 without the privilege) is logged, not fatal: TLS-ALPN-01 on the
 * HTTPS port can still get a certificate.
 */
export function registerHttpsLifecycle(app: FastifyInstance, config: Readonly<Config>, acme: AcmeManager | null): void {
  let httpPort: HttpServer | null = null
  app.addHook('onListen', async function () {
    if (acme) acme.tls.attach(app.server as HttpsServer)
    if (config.httpPort !== null) {
      const server = createHttpPortServer(config.publicUrl, acme?.challenges ?? null)
      try {
        server.listen(config.httpPort, config.host)
        await once(server, 'listening')
        httpPort = server
        app.log.info({ port: config.httpPort }, 'plain-HTTP port open: ACME challenges and redirects to HTTPS')
      } catch (error) {
        app.log.error({ err: error, port: config.httpPort }, `cannot open the plain-HTTP port ${config.httpPort}${acme ? ': HTTP-01 validation will fail (TLS-ALPN-01 on the HTTPS port is tried too)' : ''}`)
      }
    }
    acme?.start(app.log)
  })
  app.addHook('onClose', async () => {
    acme?.stop()
    if (httpPort) {
      const closing = once(httpPort, 'close')
      httpPort.close()
      httpPort.closeAllConnections()
      await closing
    }
  })
}
