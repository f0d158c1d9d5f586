import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { Server } from 'node:net'

/**
 * Where probed ports come from: at random below the kernel's ephemeral range (Linux: 32768–60999).
 * A probed port is closed again and bound a moment later by what the test starts (a child process,
 * createApp); in between, an ephemeral port could be handed to any process's `listen(0)` or outgoing
 * connection — and with `--test-concurrency=2` another test file is making those all the time.
 * Below the range only another random pick can collide. Elsewhere (no /proc, an odd range): the
 * kernel's pick, as before.
 */
const RANDOM_PORTS = ((): { from: number; to: number } | null => {
  const from = 10_000
  try {
    const to = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(to) && to - from >= 2_000 ? { from, to } : null
  } catch {
    return null
  }
})()

/** Listens on `port` (0: the kernel picks); null when it is taken. */
function probe(port: number): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => (port !== 0 && (error.code === 'EADDRINUSE' || error.code === 'EACCES') ? resolve(null) : reject(error)))
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

/**
 * `count` distinct free loopback ports. All probes stay open until every port is known, so the
 * same port is never handed out twice (engines such as Swift need several at once).
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const probes: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      let open: Server | null = null
      for (let attempt = 0; RANDOM_PORTS && !open && attempt < 50; attempt++) open = await probe(randomInt(RANDOM_PORTS.from, RANDOM_PORTS.to))
      probes.push(open ?? (await probe(0))!)
    }
    return probes.map((server) => (server.address() as { port: number }).port)
  } finally {
    await Promise.all(probes.map((server) => new Promise((resolve) => server.close(resolve))))
  }
}
