/**
 * Load (issue 9): the real server (`airstrip serve`, a child process, loopback) under 200
 * concurrent .ipa downloads + 10 concurrent uploads + a steady stream of install-page and
 * manifest requests, for 60 s. Every downloaded and uploaded byte is verified (SHA-256); reported:
 * errors, bytes, the server's RSS (sampled from /proc), and page/manifest latency percentiles.
 * A benchmark: it prints and records, it does not assert.
 *
 *   node bench/load.ts                         # 60 s, plain HTTP on loopback (as behind a proxy)
 *   node bench/load.ts --seconds 20 --downloads 50 --uploads 4 --build-mib 8
 *   node bench/load.ts --record docs/reliability-results   # writes load.json for docs/reliability.md
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildIpa } from '../test/support/ipa-builder.ts'
import { freeLoopbackPorts } from '../test/support/ports.ts'
import { recordResult } from '../test/reliability/support/results.ts'
import { cli, get, ipaUrlOf, spawnServer, upload } from '../test/reliability/support/server-process.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    downloads: { type: 'string', default: '200' },
    uploads: { type: 'string', default: '10' },
    'build-mib': { type: 'string', default: '20' },
    'upload-mib': { type: 'string', default: '8' },
    'page-rate': { type: 'string', default: '50' },
    record: { type: 'string' },
  },
})
const seconds = Number(values.seconds)
const downloadClients = Number(values.downloads)
const uploadClients = Number(values.uploads)
const pageRate = Number(values['page-rate'])

const work = mkdtempSync(join(tmpdir(), 'airstrip-load-'))
const cleanups: Array<() => unknown> = []
const t = { after: (fn: () => unknown) => void cleanups.push(fn) }
try {
  const dataDir = join(work, 'data')
  const token = (await cli(['token', 'create', '--name', 'load', '--data-dir', dataDir])).trim()
  const [port] = (await freeLoopbackPorts(1)) as [number]
  const server = await spawnServer(t, dataDir, port, ['--log-level', 'error'])
  const pid = server.child.pid!

  const makeIpa = async (name: string, mib: number): Promise<{ path: string; sha256: string; size: number }> => {
    const path = join(work, name)
    await buildIpa(path, { info: { CFBundleIdentifier: `com.example.load.${name.replace(/\W/g, '')}` }, files: [{ name: 'payload.bin', data: randomBytes(mib * 1024 * 1024) }] })
    const bytes = readFileSync(path)
    return { path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }
  }
  console.log(`preparing: 3 builds of ${values['build-mib']} MiB to download, ${uploadClients} files of ${values['upload-mib']} MiB to upload`)
  const targets: Array<{ id: string; sha256: string; size: number; ipaUrl: string; installPageUrl: string; manifestUrl: string }> = []
  for (let i = 0; i < 3; i++) {
    const file = await makeIpa(`download-${i}.ipa`, Number(values['build-mib']))
    const reply = await upload(server, token, file.path)
    if (reply.status !== 201) throw new Error(`preparing: upload answered ${reply.status}: ${reply.body}`)
    const build = JSON.parse(reply.body.toString()) as { id: string; installPageUrl: string; manifestUrl: string }
    targets.push({ ...build, sha256: file.sha256, size: file.size, ipaUrl: await ipaUrlOf(server, token, build.id) })
  }
  const uploadFiles = await Promise.all(Array.from({ length: uploadClients }, (_, i) => makeIpa(`upload-${i}.ipa`, Number(values['upload-mib']))))

  const stats = { downloads: 0, downloadBytes: 0, uploads: 0, uploadBytes: 0, pages: 0, manifests: 0, errors: [] as string[] }
  const latency: { page: number[]; manifest: number[] } = { page: [], manifest: [] }
  const rss: number[] = []
  const deadline = Date.now() + seconds * 1000
  const running = (): boolean => Date.now() < deadline

  /** Streams a GET, hashing the body; resolves with status, hash and length. */
  const fetchHashed = (url: string): Promise<{ status: number; sha256: string; length: number }> =>
    new Promise((resolve, reject) => {
      const req = request(url, { agent: false }, (res) => {
        const hash = createHash('sha256')
        let length = 0
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk)
          length += chunk.length
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex'), length }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })

  const downloader = async (n: number): Promise<void> => {
    while (running()) {
      const target = targets[n % targets.length]!
      try {
        const got = await fetchHashed(target.ipaUrl)
        if (got.status !== 200 || got.sha256 !== target.sha256) stats.errors.push(`download ${target.id}: ${got.status}, ${got.length} bytes, hash ${got.sha256 === target.sha256 ? 'ok' : 'WRONG'}`)
        else {
          stats.downloads++
          stats.downloadBytes += got.length
        }
      } catch (error) {
        stats.errors.push(`download: ${(error as Error).message}`)
      }
      n++
    }
  }
  const uploader = async (n: number): Promise<void> => {
    const file = uploadFiles[n]!
    while (running()) {
      try {
        const reply = await upload(server, token, file.path)
        const body = reply.status === 201 ? (JSON.parse(reply.body.toString()) as { sha256: string }) : null
        if (!body || body.sha256 !== file.sha256) stats.errors.push(`upload: ${reply.status} ${reply.body.toString().slice(0, 200)}`)
        else {
          stats.uploads++
          stats.uploadBytes += file.size
        }
      } catch (error) {
        stats.errors.push(`upload: ${(error as Error).message}`)
      }
    }
  }
  const pager = async (): Promise<void> => {
    // A steady stream: one install page and one manifest every 1/pageRate s, whatever the latency.
    const inFlight = new Set<Promise<void>>()
    for (let i = 0; running(); i++) {
      const target = targets[i % targets.length]!
      const timed = async (url: string, kind: 'page' | 'manifest'): Promise<void> => {
        const started = performance.now()
        try {
          const reply = await get(url)
          latency[kind].push(performance.now() - started)
          if (reply.status !== 200) stats.errors.push(`${kind}: ${reply.status}`)
          else stats[kind === 'page' ? 'pages' : 'manifests']++
        } catch (error) {
          stats.errors.push(`${kind}: ${(error as Error).message}`)
        }
      }
      for (const p of [timed(target.installPageUrl, 'page'), timed(target.manifestUrl, 'manifest')]) {
        inFlight.add(p)
        void p.finally(() => inFlight.delete(p))
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 / pageRate))
    }
    await Promise.all(inFlight)
  }
  const sampler = setInterval(() => {
    try {
      rss.push(Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096)
    } catch {
      // not Linux: no RSS figures
    }
  }, 250)

  console.log(`load: ${downloadClients} downloaders, ${uploadClients} uploaders, ${pageRate} pages + ${pageRate} manifests per second, ${seconds} s`)
  const started = Date.now()
  const loadAverage1mAtStart = Number(loadavg()[0]!.toFixed(1))
  await Promise.all([...Array.from({ length: downloadClients }, (_, i) => downloader(i)), ...Array.from({ length: uploadClients }, (_, i) => uploader(i)), pager()])
  clearInterval(sampler)
  const elapsed = (Date.now() - started) / 1000
  const alive = server.child.exitCode === null && (await get(`${server.url}/healthz`)).status === 200
  await server.stop()

  const percentile = (values: number[], p: number): number => {
    const sorted = [...values].sort((a, b) => a - b)
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN
  }
  const mib = (n: number): string => (n / 2 ** 20).toFixed(0)
  const summary = {
    seconds: elapsed,
    clients: { downloads: downloadClients, uploads: uploadClients, pageRate },
    buildMiB: Number(values['build-mib']),
    uploadMiB: Number(values['upload-mib']),
    downloads: stats.downloads,
    downloadMiBps: stats.downloadBytes / 2 ** 20 / elapsed,
    uploads: stats.uploads,
    uploadMiBps: stats.uploadBytes / 2 ** 20 / elapsed,
    pages: stats.pages,
    manifests: stats.manifests,
    errors: stats.errors.length,
    firstErrors: stats.errors.slice(0, 10),
    serverAlive: alive,
    serverRssMiB: { peak: Math.max(...rss) / 2 ** 20, last: (rss.at(-1) ?? NaN) / 2 ** 20, samples: rss.length },
    latencyMs: {
      page: { p50: percentile(latency.page, 50), p95: percentile(latency.page, 95), p99: percentile(latency.page, 99), max: Math.max(...latency.page) },
      manifest: { p50: percentile(latency.manifest, 50), p95: percentile(latency.manifest, 95), p99: percentile(latency.manifest, 99), max: Math.max(...latency.manifest) },
    },
  }
  console.log(`\n${stats.downloads} downloads (${mib(stats.downloadBytes)} MiB, ${summary.downloadMiBps.toFixed(0)} MiB/s), ${stats.uploads} uploads (${mib(stats.uploadBytes)} MiB), ${stats.pages} pages, ${stats.manifests} manifests in ${elapsed.toFixed(0)} s`)
  console.log(`errors: ${stats.errors.length}${stats.errors.length ? `\n  ${stats.errors.slice(0, 10).join('\n  ')}` : ''}`)
  console.log(`server RSS: peak ${summary.serverRssMiB.peak.toFixed(0)} MiB, at the end ${summary.serverRssMiB.last.toFixed(0)} MiB; still answering: ${alive}`)
  console.log(`install page latency p50/p95/p99/max: ${['p50', 'p95', 'p99', 'max'].map((k) => summary.latencyMs.page[k as 'p50'].toFixed(0)).join(' / ')} ms`)
  console.log(`manifest latency     p50/p95/p99/max: ${['p50', 'p95', 'p99', 'max'].map((k) => summary.latencyMs.manifest[k as 'p50'].toFixed(0)).join(' / ')} ms`)
  if (values.record) recordResult('load', { ...summary, loadAverage1mAtStart }, values.record)
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup()
  rmSync(work, { recursive: true, force: true })
}
