/**
 * Launcher for the serve benchmark: runs Airstrip (createApp + listen) in its own process, so the
 * benchmark's clients never share its event loop and its RSS is its own.
 *
 * Prints one JSON line on stdout once listening: { url, token, pid, dataDir, certPath, keyPath }.
 * Exits cleanly (app.close, then exit 0) on SIGTERM/SIGINT, so `--cpu-prof` profiles get written.
 *
 * --memory-log <ms> prints process.memoryUsage() (MiB) to stderr at that interval, to see where RSS goes.
 *
 * Started through bench/compile-cached.mjs (as bench/serve.ts does) it runs like `npm start`: with
 * Node's compile cache and without the type stripper once the cache is warm.
 *
 * Usage: node [--cpu-prof --cpu-prof-dir <dir>] bench/compile-cached.mjs bench/serve-server.ts --data-dir <dir> [--port 0] [--log-level warn] [--exit-with-stdin] [--memory-log 1000]
 */
import module from 'node:module'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

// As bin/airstrip.js does (what `npm start` runs): the compile cache, enabled before the sources load.
module.enableCompileCache?.()
const { createApp } = await import('../src/app.ts')
const { loadConfig } = await import('../src/config.ts')
const { freeLoopbackPorts } = await import('../test/support/ports.ts')

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    port: { type: 'string', default: '0' },
    'log-level': { type: 'string', default: 'warn' },
    'exit-with-stdin': { type: 'boolean', default: false },
    'memory-log': { type: 'string', default: '0' },
  },
})
if (!values['data-dir']) throw new Error('--data-dir is required')


const port = Number(values.port) || (await freeLoopbackPorts(1))[0]!
const config = loadConfig({
  host: '127.0.0.1',
  port: String(port),
  dataDir: values['data-dir'],
  publicUrl: `https://127.0.0.1:${port}`,
  logLevel: values['log-level'],
})
const app = await createApp(config)
await app.server.listen({ host: config.host, port })
const { token } = await app.services.meta.createApiToken('bench')

let closing = false
const shutdown = (): void => {
  if (closing) return
  closing = true
  const force = setTimeout(() => process.exit(1), 10_000)
  force.unref()
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
// Started by the benchmark: its going away closes our stdin; leave with it rather than linger.
if (values['exit-with-stdin']) process.stdin.on('end', shutdown).on('error', shutdown).resume()

const memoryLogMs = Number(values['memory-log'])
if (memoryLogMs > 0) {
  setInterval(() => {
    const usage = Object.entries(process.memoryUsage()).map(([key, bytes]) => `${key} ${(bytes / 1048576).toFixed(1)}`)
    process.stderr.write(`memory MiB: ${usage.join(', ')}\n`)
  }, memoryLogMs).unref()
}

const certs = join(config.dataDir, 'certs')
process.stdout.write(
  `${JSON.stringify({ url: config.publicUrl, token, pid: process.pid, dataDir: config.dataDir, certPath: join(certs, 'server.crt'), keyPath: join(certs, 'server.key') })}\n`,
)
