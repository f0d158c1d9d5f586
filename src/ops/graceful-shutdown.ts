import type { Server } from 'node:http'

/** What shutting down needs from the app: its HTTP(S) server and a close that drains it. */
export interface Drainable {
  /** Stops listening, waits for in-flight requests, then releases everything (database included). */
  close(): Promise<void>
  /** The node server under fastify, to cut connections that outlive the timeout. */
  server: Pick<Server, 'closeAllConnections'>
  log: { info(object: object, message: string): void; warn(object: object, message: string): void }
}

/**
 * SIGTERM handling: stop accepting connections, let in-flight downloads and uploads finish for up to
 * `timeoutMs` (fastify answers new requests on open keep-alive connections with 503 meanwhile),
 * then cut whatever is left and close the database. Resolves with whether everything drained.
 */
export async function shutdownGracefully(app: Drainable, timeoutMs: number, signal: string): Promise<'drained' | 'cut'> {
  app.log.info({ signal, timeoutSeconds: timeoutMs / 1000 }, 'shutting down: no new connections; waiting for in-flight downloads and uploads')
  let outcome: 'drained' | 'cut' = 'drained'
  const timer = setTimeout(() => {
    outcome = 'cut'
    app.log.warn({ timeoutSeconds: timeoutMs / 1000 }, 'shutdown timeout reached: closing the connections still open')
    app.server.closeAllConnections()
  }, timeoutMs)
  try {
    await app.close()
  } finally {
    clearTimeout(timer)
  }
  app.log.info({ outcome }, 'stopped')
  return outcome
}
