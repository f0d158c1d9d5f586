// `airstrip serve` as a real process: start-up checks, JSON logs with request ids and no secrets,
// and SIGTERM draining a download in progress before the process exits.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, statSync } from 'node:fs'
import { request, type RequestOptions } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { main } from '../../src/cli/main.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { freeLoopbackPorts } from '../support/ports.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function send(url: string, options: RequestOptions, body?: Buffer): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, resolve)
    req.on('error', reject)
    req.end(body)
  })
}

async function text(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

test('serve: JSON logs with request ids and nothing secret; SIGTERM lets a download finish, then exits 0', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t, 'airstrip-serve-')
  let token = ''
  assert.equal(await main(['token', 'create', '--name', 'ci', '--data-dir', dataDir], { stdout: { write: (s: string) => (token += s) }, stderr: { write: () => true } }, {}), 0)
  token = token.trim()
  const [port] = (await freeLoopbackPorts(1)) as [number]
  const child = spawn(process.execPath, [join(ROOT, 'bin/airstrip.js'), 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port), '--shutdown-timeout', '20'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  t.after(() => void child.kill('SIGKILL'))
  while (!/Server listening/.test(stdout)) {
    assert.equal(child.exitCode, null, `serve exited early:\n${stdout}\n${stderr}`)
    await sleep(50)
  }
  assert.match(stdout, /WARNING: the public URL is this machine only\n {2}fix: set --public-url/)

  const ca = readFileSync(join(dataDir, 'certs', 'dev-ca.crt'), 'utf8')
  const url = `https://localhost:${port}`
  const ipa = join(tempDir(t), 'big.ipa')
  await buildIpa(ipa, { files: [{ name: 'payload.bin', data: Buffer.alloc(24 * 1024 * 1024, 3) }] })
  const bytes = readFileSync(ipa)
  const upload = await send(`${url}/api/v1/builds`, {
    method: 'POST',
    ca,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(ipa).size), 'x-request-id': 'ci-run-0001-upload' },
  }, bytes)
  const build = JSON.parse(await text(upload))
  assert.equal(upload.statusCode, 201)
  const manifest = await text(await send(build.manifestUrl, { ca }))
  const ipaUrl = String(/<string>(https:[^<]+\.ipa)<\/string>/.exec(manifest)?.[1]).replaceAll('&amp;', '&')

  // A download in progress when SIGTERM arrives.
  const download = await send(ipaUrl, { ca })
  const received: Buffer[] = []
  download.on('data', (chunk: Buffer) => received.push(chunk))
  const finished = once(download, 'end')
  download.pause()
  child.kill('SIGTERM')
  while (!/shutting down/.test(stdout)) await sleep(20)
  // The line is logged just before the listener closes (a few ticks later): try until refused, bounded.
  const attempt = () =>
    new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.on('connect', () => (socket.destroy(), resolve('accepted'))).on('error', (error: NodeJS.ErrnoException) => resolve(String(error.code)))
    })
  let refused = await attempt()
  for (const deadline = Date.now() + 5_000; refused === 'accepted' && Date.now() < deadline; ) refused = await sleep(20).then(attempt)
  assert.equal(refused, 'ECONNREFUSED', 'no new connections once shutting down')
  assert.equal(child.exitCode, null, 'still running while the download is in flight')
  download.resume()
  await finished
  assert.ok(Buffer.concat(received).equals(bytes), 'the download completed, byte-identical')
  const [code] = await exited
  assert.equal(code, 0, stderr)

  const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>)
  assert.ok(lines.length >= 8)
  for (const line of lines) assert.ok(typeof line['level'] === 'number' && typeof line['time'] === 'number' && typeof line['msg'] === 'string')
  const requests = lines.filter((line) => line['req'])
  assert.ok(requests.every((line) => typeof line['reqId'] === 'string' && line['reqId'].length >= 8))
  assert.ok(requests.some((line) => line['reqId'] === 'ci-run-0001-upload' && line['req'].url === '/api/v1/builds'), 'a proxy\'s X-Request-Id is kept')
  assert.ok(requests.some((line) => /^\/d\/<token>\//.test(line['req'].url)), 'download URLs are logged with the token cut out')
  for (const secret of [token, new URL(build.manifestUrl).pathname.split('/')[2]!, new URL(ipaUrl).pathname.split('/')[2]!]) {
    assert.ok(!stdout.includes(secret), 'no token in the logs')
  }
  assert.ok(lines.some((line) => line['msg'].startsWith('shutting down') && line['signal'] === 'SIGTERM'))
  assert.ok(lines.some((line) => line['msg'] === 'stopped' && line['outcome'] === 'drained'))
})

test('shutdown: connections still open at the timeout are cut, and the outcome says so', { timeout: 30_000 }, async (t) => {
  const { startServer } = await import('../support/server.ts')
  const { shutdownGracefully } = await import('../../src/ops/graceful-shutdown.ts')
  const server = await startServer(t)
  const ipa = join(tempDir(t), 'big.ipa')
  await buildIpa(ipa, { files: [{ name: 'payload.bin', data: Buffer.alloc(24 * 1024 * 1024, 5) }] })
  const build = (await server.upload(ipa)).json()
  const manifest = (await server.request(build.manifestUrl)).text()
  const ipaUrl = String(/<string>(https:[^<]+\.ipa)<\/string>/.exec(manifest)?.[1]).replaceAll('&amp;', '&')
  const ca = readFileSync(join(server.dataDir, 'certs', 'dev-ca.crt'), 'utf8')
  const download = await send(ipaUrl, { ca })
  download.pause()
  download.on('error', () => undefined)
  const aborted = new Promise<string>((resolve) => download.on('close', () => resolve(download.complete ? 'complete' : 'aborted')))
  const logged: string[] = []
  const log = { info: (_o: object, m: string) => void logged.push(m), warn: (_o: object, m: string) => void logged.push(m) }
  const outcome = await shutdownGracefully({ close: server.app.close, server: server.app.server.server, log }, 300, 'SIGTERM')
  assert.equal(outcome, 'cut')
  download.resume()
  assert.equal(await aborted, 'aborted', 'the stalled download was cut')
  assert.ok(logged.some((m) => /shutdown timeout reached/.test(m)))
})
