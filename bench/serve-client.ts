/**
 * Download client for the serve benchmark, run as its own process: `count` HTTPS GETs of one URL,
 * at most `concurrency` at a time, each hashed (SHA-256) while streaming and checked against the
 * expected hash and size. Nothing is kept. Prints one JSON line with the tally.
 *
 * Usage: node bench/serve-client.ts --url <https://127.0.0.1:…> --count 200 --concurrency 200 --sha256 <hex> --size <bytes> [--timeout 600]
 */
import { createHash } from 'node:crypto'
import { Agent, get } from 'node:https'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    count: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    sha256: { type: 'string' },
    size: { type: 'string' },
    timeout: { type: 'string', default: '600' },
  },
})
if (!values.url || !values.sha256 || !values.size) throw new Error('--url, --sha256 and --size are required')
const url = new URL(values.url)
if (url.hostname !== '127.0.0.1') throw new Error('loopback only')
const count = Math.max(1, Number(values.count))
const concurrency = Math.max(1, Math.min(count, Number(values.concurrency)))
const expectedSha = values.sha256
const expectedSize = Number(values.size)
const deadline = Date.now() + Number(values.timeout) * 1000

export interface ClientResult {
  ok: number
  badHash: number
  badSize: number
  errors: number
  firstError: string | null
  bytes: number
  ms: number
  slowestMs: number
  fastestMs: number
}

// One connection per download: 200 concurrent downloads are 200 TLS connections, as 200 phones would be.
const agent = new Agent({ keepAlive: false, maxSockets: Infinity, rejectUnauthorized: false })

function download(): Promise<{ sha256: string; bytes: number; status: number; ms: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const request = get(url, { agent, timeout: Math.max(1000, deadline - Date.now()) }, (response) => {
      const hash = createHash('sha256')
      let bytes = 0
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        hash.update(chunk)
      })
      response.on('error', reject)
      response.on('end', () => resolve({ sha256: hash.digest('hex'), bytes, status: response.statusCode ?? 0, ms: performance.now() - started }))
    })
    request.on('timeout', () => request.destroy(new Error('timed out')))
    request.on('error', reject)
  })
}

const result: ClientResult = { ok: 0, badHash: 0, badSize: 0, errors: 0, firstError: null, bytes: 0, ms: 0, slowestMs: 0, fastestMs: Infinity }
const started = performance.now()
let next = 0
async function worker(): Promise<void> {
  while (next < count && Date.now() < deadline) {
    next++
    try {
      const got = await download()
      result.bytes += got.bytes
      result.slowestMs = Math.max(result.slowestMs, got.ms)
      result.fastestMs = Math.min(result.fastestMs, got.ms)
      if (got.status !== 200) throw new Error(`HTTP ${got.status}`)
      if (got.bytes !== expectedSize) result.badSize++
      else if (got.sha256 !== expectedSha) result.badHash++
      else result.ok++
    } catch (error) {
      result.errors++
      result.firstError ??= (error as Error).message
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker))
result.ms = performance.now() - started
if (result.fastestMs === Infinity) result.fastestMs = 0
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
