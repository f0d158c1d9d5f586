import { createServer } from 'node:net'
import type { Server } from 'node:net'

/**
 * `count` distinct free loopback ports. All probes stay open until every port is known, so the
 * same port is never handed out twice (engines such as Swift need several at once).
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const probes: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const probe = createServer()
      probes.push(probe)
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject)
        probe.listen(0, '127.0.0.1', resolve)
      })
    }
    return probes.map((probe) => (probe.address() as { port: number }).port)
  } finally {
    await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))))
  }
}
