// Nothing is lost: a real `airstrip serve` process is killed (SIGKILL) while a webhook delivery
// waits for its retry; a new process on the same data dir delivers it, exactly once. The token
// and the webhook are made with the CLI on that data dir, so the server signs with a secret the
// CLI sealed.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { runCli as cli } from '../support/cli.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { startHttpPeer, waitFor } from '../support/notify-peers.ts'
import { freePort } from '../support/server.ts'

const BIN = fileURLToPath(new URL('../../bin/airstrip.js', import.meta.url))

/** `node bin/airstrip.js serve` as a child process (the same Node that runs the tests). */
async function serve(t: { after(fn: () => unknown): void }, dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--insecure-http', '--host', '127.0.0.1', '--port', String(port), '--public-url', `http://127.0.0.1:${port}`, '--data-dir', dataDir,
      '--log-level', 'warn', '--webhook-allow-private-networks', '--notify-retry-base-ms', '1500', '--notify-retry-max-ms', '1500'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
  )
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`airstrip serve exited ${child.exitCode}: ${stderr}`)
    return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)
  }, 'the server to listen', 30_000)
  return child
}

test('a pending delivery survives SIGKILL and is delivered once after restart', { timeout: 90_000 }, async (t) => {
  const dataDir = tempDir(t, 'airstrip-restart-')
  const port = await freePort()
  const receiver = await startHttpPeer(t, (_request, index) => (index === 0 ? 500 : 200))
  const origin = `http://127.0.0.1:${port}`

  const token = await cli(['token', 'create', '--name', 'ci', '--data-dir', dataDir])
  assert.equal(token.code, 0, token.stderr)
  const webhook = await cli(['webhooks', 'add', '--app', 'com.samsoffes.Sample', '--url', `${receiver.url}/hook`, '--webhook-allow-private-networks', '--data-dir', dataDir])
  assert.equal(webhook.code, 0, webhook.stderr)
  const secret = webhook.stdout.trim()
  const auth = { authorization: `Bearer ${token.stdout.trim()}` }
  type Delivery = { id: string; status: string; attempts: number }
  const deliveriesOf = async (buildId: string): Promise<Delivery[]> =>
    ((await (await fetch(`${origin}/api/v1/deliveries?buildId=${buildId}`, { headers: auth })).json()) as { deliveries: Delivery[] }).deliveries

  const first = await serve(t, dataDir, port)
  const upload = await fetch(`${origin}/api/v1/builds`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: readFileSync(fixture('ipa', 'lagunitas-Sample.ipa')),
  })
  assert.equal(upload.status, 201)
  const build = (await upload.json()) as { id: string }
  const pending = await waitFor(async () => {
    const [delivery] = await deliveriesOf(build.id)
    return delivery?.status === 'pending' && delivery.attempts === 1 && delivery
  }, 'the first attempt to fail')
  first.kill('SIGKILL')
  await new Promise((resolve) => first.once('exit', resolve))
  assert.equal(receiver.requests.length, 1, 'killed before the retry was due')

  await serve(t, dataDir, port)
  const delivered = await waitFor(async () => {
    const [delivery] = await deliveriesOf(build.id)
    return delivery?.status === 'delivered' && delivery
  }, 'delivery after the restart')
  assert.equal(delivered.id, pending.id)
  assert.equal(delivered.attempts, 2)
  // Give a duplicate every chance to show up (a retry timer, a second claim).
  await new Promise((resolve) => setTimeout(resolve, 2000))
  assert.deepEqual(receiver.requests.map((r) => r.status), [500, 200], 'exactly one successful delivery')
  for (const request of receiver.requests) {
    assert.equal(request.headers['x-airstrip-delivery'], pending.id)
    assert.equal(request.headers['x-airstrip-signature'], `sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`)
  }
})
