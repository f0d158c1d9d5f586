/**
 * Reference servers for the serve benchmark (not Airstrip): the same TLS certificate and the same
 * response headers, with none of Airstrip's work, to show what Node itself costs.
 *
 *   --mode node     node:https; GET /manifest.plist answers a constant string, GET /download.ipa
 *                   pipes fs.createReadStream (1 MiB reads, as Airstrip's blob store) into the response.
 *   --mode fastify  the same two routes on fastify (Airstrip's framework), logger at warn.
 *
 * Prints one JSON line { url, pid } once listening; exits on SIGTERM or when stdin closes.
 *
 * Usage: node bench/serve-floor.ts --mode node|fastify --cert <pem> --key <pem> --manifest <file> --ipa <file>
 */
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'node' },
    cert: { type: 'string' },
    key: { type: 'string' },
    manifest: { type: 'string' },
    ipa: { type: 'string' },
  },
})
if (!values.cert || !values.key || !values.manifest || !values.ipa) throw new Error('--cert, --key, --manifest and --ipa are required')
const tls = { cert: readFileSync(values.cert), key: readFileSync(values.key), minVersion: 'TLSv1.2' as const }
const manifest = readFileSync(values.manifest, 'utf8')
const ipa = values.ipa
const ipaSize = statSync(ipa).size
const IO_SIZE = 1024 * 1024

let port: number
let close: () => void
if (values.mode === 'fastify') {
  const app = Fastify({ https: tls, logger: { level: 'warn' } })
  app.get('/manifest.plist', async (_request, reply) => reply.type('text/xml; charset=utf-8').header('cache-control', 'no-store').send(manifest))
  app.get('/download.ipa', async (_request, reply) =>
    reply.type('application/octet-stream').header('content-length', ipaSize).send(createReadStream(ipa, { highWaterMark: IO_SIZE })),
  )
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as { port: number }).port
  close = () => void app.close().then(() => process.exit(0))
} else {
  const server: Server = createServer(tls, (request, response) => {
    if (request.url === '/manifest.plist') {
      response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(manifest) })
      response.end(manifest)
    } else if (request.url === '/download.ipa') {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': ipaSize })
      pipeline(createReadStream(ipa, { highWaterMark: IO_SIZE }), response).catch(() => response.destroy())
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
  close = () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
}
process.on('SIGTERM', close)
process.stdin.on('end', close).on('error', close).resume()
process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${port}`, pid: process.pid })}\n`)
