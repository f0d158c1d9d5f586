// /readyz and close() of an instance whose stores are PostgreSQL and a real S3 engine (Swift +
// s3api): readiness probes those, not the local folders, and close() lets go of the S3 sockets.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import type { RawSettings } from '../../src/config.ts'
import type { ReadinessCheck } from '../../src/ops/readiness.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { listAllKeys, s3EngineUnavailable, startS3Engine, type S3Engine } from '../support/s3-engine.ts'
import { startServer, type TestServer } from '../support/server.ts'

const skip = postgresUnavailable() ?? s3EngineUnavailable() ?? false

/** An engine of the test's own (the readiness test stops it), a fresh database and bucket. */
async function sharedStores(t: TestContext): Promise<{ engine: S3Engine; bucket: string; settings: RawSettings }> {
  const [postgres, engine] = await Promise.all([sharedPostgres(), startS3Engine()])
  t.after(() => engine.stop())
  const [databaseUrl, s3] = await Promise.all([postgres.createDatabase(), engine.createBucket()])
  const settings: RawSettings = {
    databaseUrl,
    s3Bucket: s3.bucket,
    s3Endpoint: engine.endpoint,
    s3AccessKeyId: engine.accessKeyId,
    s3SecretAccessKey: engine.secretAccessKey,
    s3PathStyle: true,
    s3Prefix: 'ota/',
    minFreeDisk: '1',
  }
  return { engine, bucket: s3.bucket, settings }
}

/** What /readyz answers. */
interface ReadyzBody {
  status: 'ready' | 'not-ready'
  checks: ReadinessCheck[]
  warnings: string[]
}

async function readiness(server: TestServer): Promise<{ status: number; report: ReadyzBody }> {
  const answer = await server.request(`${server.url}/readyz`)
  return { status: answer.status, report: answer.json<ReadyzBody>() }
}

const check = (report: ReadyzBody, name: string): ReadinessCheck => {
  const found = report.checks.find((c) => c.name === name)
  assert.ok(found, `${name} in ${JSON.stringify(report.checks)}`)
  return found
}

/** Local ports of this process's established TCP connections to `endpoint` (iproute2's ss). */
function connectionsTo(endpoint: string): Set<string> {
  const { hostname, port } = new URL(endpoint)
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `${hostname}:${port}`], { encoding: 'utf8' })
  const mine = out.split('\n').filter((line) => line.includes(`pid=${process.pid},`))
  // Columns without the state: Recv-Q Send-Q Local:Port Peer:Port Process
  return new Set(mine.map((line) => line.trim().split(/\s+/)[2]!))
}

describe('operations on PostgreSQL + S3', { skip }, () => {
  it('/readyz probes PostgreSQL and the bucket; 503 naming the bucket when the S3 engine is down', async (t) => {
    const { engine, bucket, settings } = await sharedStores(t)
    const server = await startServer(t, { ...settings, insecureHttp: true })

    const up = await readiness(server)
    assert.equal(up.status, 200, JSON.stringify(up.report))
    assert.equal(up.report.status, 'ready')
    assert.equal(check(up.report, 'database').detail, 'writable (PostgreSQL)')
    assert.equal(check(up.report, 'blob-store').detail, `writable (S3 bucket "${bucket}")`)
    assert.ok(!existsSync(join(server.dataDir, 'blobs')), 'the local blobs folder is not what was probed')
    assert.deepEqual(await listAllKeys(engine.client, bucket), [], 'the probe object is deleted again')

    await engine.stop()
    const down = await readiness(server)
    assert.equal(down.status, 503, JSON.stringify(down.report))
    assert.equal(down.report.status, 'not-ready')
    const blobStore = check(down.report, 'blob-store')
    assert.equal(blobStore.ok, false)
    assert.match(blobStore.detail, new RegExp(`^not writable: S3 bucket "${bucket}" at ${engine.endpoint.replaceAll('.', '\\.')}: \\S`))
    assert.equal(check(down.report, 'database').ok, true, 'PostgreSQL is still up')
  })

  it('close() closes the S3 client: no connection to the engine stays open', async (t) => {
    const { engine, settings } = await sharedStores(t)
    const before = connectionsTo(engine.endpoint) // the test's own client (it created the bucket)
    const server = await startServer(t, { ...settings, insecureHttp: true })
    const close = server.app.close
    let closed = false
    server.app.close = async () => {
      if (!closed) await close()
      closed = true
    }

    assert.equal((await readiness(server)).status, 200)
    const opened = [...connectionsTo(engine.endpoint)].filter((port) => !before.has(port))
    assert.ok(opened.length > 0, 'the app keeps a connection to the engine open while it runs')

    await server.app.close()
    const left = connectionsTo(engine.endpoint)
    assert.deepEqual(opened.filter((port) => left.has(port)), [], 'the app\'s connections are closed')
  })
})
