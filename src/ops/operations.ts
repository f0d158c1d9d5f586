import { randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rm, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import type { Database } from '../store/database.ts'
import { countCatalogue, probeDatabaseWritable } from '../store/database-probe.ts'
import type { AcmeManager } from '../tls/acme-manager.ts'
import type { TlsStateSource } from '../tls/tls-state.ts'
import { createMetrics, type AirstripMetrics } from './metrics.ts'
import { checkCertificate, checkDisk, readinessReport, type ReadinessCheck, type ReadinessReport } from './readiness.ts'

/** What /readyz, /metrics and the shutdown path need, built once by createApp. */
export interface Operations {
  metrics: AirstripMetrics
  tls: TlsStateSource
  /** The ACME manager with --domain (tests force renewals through it), else null. */
  acme: AcmeManager | null
  readiness(): Promise<ReadinessReport>
}

export interface OperationsDeps {
  config: Readonly<Config>
  db: Kysely<Database>
  blobsRoot: string
  /** The object store's probe when blobs live in S3 (then it replaces the blobs folder's). */
  probeObjectStore: ((signal: AbortSignal) => Promise<void>) | null
  tls: TlsStateSource
  acme: AcmeManager | null
  now: () => Date
}

/** Walking the blob folder is not free: scrapes within this window reuse the last total. */
const BLOB_BYTES_TTL_MS = 60_000

export function createOperations(deps: OperationsDeps): Operations {
  const { config, db, blobsRoot, tls, now } = deps
  let blobBytes: { value: number; at: number } | null = null
  // Three gauges read the counts: one query round per scrape.
  let catalogue: { value: ReturnType<typeof countCatalogue>; at: number } | null = null
  const metrics = createMetrics({
    catalogue() {
      if (!catalogue || Date.now() - catalogue.at > 1000) catalogue = { value: countCatalogue(db), at: Date.now() }
      return catalogue.value
    },
    async disk() {
      const fs = await statfs(config.dataDir)
      if (!blobBytes || Date.now() - blobBytes.at > BLOB_BYTES_TTL_MS) blobBytes = { value: await folderBytes(blobsRoot), at: Date.now() }
      const databaseBytes = (await Promise.all(['airstrip.db', 'airstrip.db-wal'].map((name) => stat(join(config.dataDir, name)).then((s) => s.size, () => 0)))).reduce((a, b) => a + b, 0)
      return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize, blobBytes: blobBytes.value, databaseBytes }
    },
    certificate() {
      const { certificate, renewal } = tls.state()
      return certificate ? { notAfter: certificate.notAfter, source: certificate.source, issuer: certificate.issuer, renewalFailures: renewal?.consecutiveFailures ?? 0 } : null
    },
  })

  return {
    metrics,
    tls,
    acme: deps.acme,
    async readiness() {
      const [database, blobStore, disk] = await Promise.all([
        probe('database', () => probeDatabaseWritable(db, config.storage.databaseUrl ? 'postgres' : 'sqlite'), config.storage.databaseUrl ? 'writable (PostgreSQL)' : 'writable'),
        deps.probeObjectStore
          ? probe('blob-store', deps.probeObjectStore, `writable (S3 bucket "${config.storage.s3?.bucket}")`)
          : probe('blob-store', () => probeFolderWritable(join(blobsRoot, 'tmp')), 'writable'),
        statfs(config.dataDir).then(
          (fs) => checkDisk(fs.bavail * fs.bsize, config.minFreeDiskBytes),
          (error: unknown): ReadinessCheck => ({ name: 'disk', ok: false, detail: `cannot read free space: ${messageOf(error)}` }),
        ),
      ])
      const certificate = checkCertificate(tls.state(), config.tls.mode === 'insecure-http', now())
      return readinessReport([database, blobStore, disk, certificate.check], certificate.warnings)
    },
  }
}

/** A probe that hangs (a dead database or object store behind a black hole) fails after this long. */
const PROBE_TIMEOUT_MS = 5000

async function probe(name: ReadinessCheck['name'], run: (signal: AbortSignal) => Promise<void>, okDetail: string): Promise<ReadinessCheck> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`))
    }, PROBE_TIMEOUT_MS)
  })
  try {
    await Promise.race([run(controller.signal), timedOut])
    return { name, ok: true, detail: okDetail }
  } catch (error) {
    return { name, ok: false, detail: `not writable: ${messageOf(error)}` }
  } finally {
    clearTimeout(timer)
  }
}

/** Creates, fsyncs and deletes a small file: what an upload's staging is about to do. */
async function probeFolderWritable(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true })
  const path = join(folder, `readyz-${randomBytes(8).toString('hex')}.probe`)
  try {
    const handle = await open(path, 'wx', 0o600)
    try {
      await handle.writeFile('ok')
      await handle.sync()
    } finally {
      await handle.close()
    }
  } finally {
    await rm(path, { force: true })
  }
}

async function folderBytes(root: string): Promise<number> {
  let total = 0
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    if (entry.isFile()) total += await stat(join(entry.parentPath, entry.name)).then((s) => s.size, () => 0)
  }
  return total
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
