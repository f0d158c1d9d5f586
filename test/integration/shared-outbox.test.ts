// Two `airstrip serve` processes on one PostgreSQL (each with its own data dir: no blobs are
// involved) share one notification outbox. A webhook delivery that is pending — the receiver
// failing — when instance A dies by SIGKILL is delivered by instance B, exactly once.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { runCli as cli } from '../support/cli.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { startHttpPeer, waitFor } from '../support/notify-peers.ts'
import { postgresUnavailable, sharedPostgres } from '../support/postgres.ts'
import { freePort } from '../support/server.ts'

const BIN = fileURLToPath(new URL('../../bin/airstrip.js', import.meta.url))

interface Instance {
  child: ChildProcess
  origin: string
  /** Its JSON log lines so far. */
  log(): string
}

/** `airstrip serve` on PostgreSQL as a child process; retries every 2–4 s so the test can act between them. */
async function serve(t: { after(fn: () => unknown): void }, databaseUrl: string, name: string): Promise<Instance> {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--insecure-http', '--host', '127.0.0.1', '--port', String(port), '--public-url', origin, '--data-dir', tempDir(t, `airstrip-${name}-`),
      '--database-url', databaseUrl, '--log-level', 'info', '--webhook-allow-private-networks',
      '--notify-retry-base-ms', '4000', '--notify-retry-max-ms', '4000', '--notify-max-attempts', '50'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
  )
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`airstrip serve (${name}) exited ${child.exitCode}: ${output}`)
    return fetch(`${origin}/healthz`).then((r) => r.ok, () => false)
  }, `instance ${name} to listen`, 30_000)
  return { child, origin, log: () => output }
}

/** "notification delivered" log lines of one instance for one delivery. */
function deliveredLines(instance: Instance, deliveryId: string): string[] {
  return instance.log().split('\n').filter((line) => line.includes('"notification delivered"') && line.includes(`"delivery":"${deliveryId}"`))
}

describe('instances sharing PostgreSQL: the notification outbox', { skip: postgresUnavailable() ?? false }, () => {
  it('a delivery pending when instance A is SIGKILLed is delivered once, by instance B', { timeout: 120_000 }, async (t) => {
    const databaseUrl = await (await sharedPostgres()).createDatabase()
    const cliDir = tempDir(t, 'airstrip-cli-')
    let failing = true
    const receiver = await startHttpPeer(t, () => (failing ? 503 : 200))

    const token = await cli(['token', 'create', '--name', 'ci', '--database-url', databaseUrl, '--data-dir', cliDir])
    assert.equal(token.code, 0, token.stderr)
    const webhook = await cli(['webhooks', 'add', '--app', 'com.samsoffes.Sample', '--url', `${receiver.url}/hook`, '--webhook-allow-private-networks', '--database-url', databaseUrl, '--data-dir', cliDir])
    assert.equal(webhook.code, 0, webhook.stderr)
    const auth = { authorization: `Bearer ${token.stdout.trim()}` }

    const [a, b] = await Promise.all([serve(t, databaseUrl, 'a'), serve(t, databaseUrl, 'b')])
    type Delivery = { id: string; status: string; attempts: number }
    const deliveriesOf = async (buildId: string): Promise<Delivery[]> =>
      ((await (await fetch(`${b.origin}/api/v1/deliveries?buildId=${buildId}`, { headers: auth })).json()) as { deliveries: Delivery[] }).deliveries

    const upload = await fetch(`${a.origin}/api/v1/builds`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: readFileSync(fixture('ipa', 'lagunitas-Sample.ipa')),
    })
    assert.equal(upload.status, 201, await upload.clone().text())
    const build = (await upload.json()) as { id: string }

    // A failed attempt is recorded and the next is 2–4 s away: A holds no claim on it now.
    const pending = await waitFor(async () => {
      const [delivery] = await deliveriesOf(build.id)
      return delivery?.status === 'pending' && delivery.attempts >= 1 && delivery
    }, 'a failed attempt')
    a.child.kill('SIGKILL')
    await new Promise((resolve) => a.child.once('exit', resolve))
    const failedBeforeKill = receiver.requests.length
    assert.ok(failedBeforeKill >= 1)
    failing = false

    const delivered = await waitFor(async () => {
      const [delivery] = await deliveriesOf(build.id)
      return delivery?.status === 'delivered' && delivery
    }, 'delivery by instance B', 30_000)
    assert.equal(delivered.id, pending.id)
    // Give a duplicate every chance to show up (B's next poll, a stale retry timer).
    await new Promise((resolve) => setTimeout(resolve, 5500))

    const byDelivery = new Map<string, number[]>()
    for (const request of receiver.requests) {
      const id = String(request.headers['x-airstrip-delivery'])
      byDelivery.set(id, [...(byDelivery.get(id) ?? []), request.status])
    }
    assert.deepEqual([...byDelivery.keys()], [pending.id], 'one delivery, one id')
    const statuses = byDelivery.get(pending.id)!
    assert.equal(statuses.filter((status) => status === 200).length, 1, `delivered exactly once: ${statuses.join(', ')}`)
    assert.equal(statuses.at(-1), 200, 'nothing was sent after the successful delivery')
    const [final] = await deliveriesOf(build.id)
    assert.equal(final!.attempts, statuses.length, 'every attempt counted is one request received')
    assert.equal(deliveredLines(b, pending.id).length, 1, 'B delivered it')
    assert.equal(deliveredLines(a, pending.id).length, 0, 'A never did')
  })
})
