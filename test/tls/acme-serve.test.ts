// `airstrip serve --domain` as a real process against pebble: the certificate arrives, and when the
// CA goes away the renewal failure is logged loudly while the current certificate stays in service.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../support/fixtures.ts'
import { startPebble } from '../support/pebble.ts'
import { freeLoopbackPorts } from '../support/ports.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The serial of the certificate a new handshake gets (verified against `ca` when given). */
function servedSerial(port: number, ca: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...(ca ? { ca } : { rejectUnauthorized: false }) }, () => {
      resolve(socket.getPeerCertificate().serialNumber)
      socket.end()
    })
    socket.on('error', reject)
  })
}

test('serve --domain: obtains a certificate; CA down → a loud error line, the old certificate stays', { timeout: 60_000 }, async (t) => {
  const [httpsPort, httpPort] = (await freeLoopbackPorts(2)) as [number, number]
  // 9-second certificates: renewal is due 3 s after issuance.
  const pebble = await startPebble(t, { httpPort, tlsPort: httpsPort, validitySeconds: 9 })
  const dataDir = tempDir(t, 'airstrip-serve-acme-')
  const child = spawn(process.execPath, [join(ROOT, 'bin/airstrip.js'), 'serve', '--domain', 'localhost', '--host', '127.0.0.1', '--port', String(httpsPort), '--http-port', String(httpPort), '--data-dir', dataDir], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', AIRSTRIP_ACME_DIRECTORY: pebble.directoryUrl, AIRSTRIP_ACME_CA_ROOT: pebble.wfeCaPath, AIRSTRIP_ACME_EMAIL: 'ops@example.com' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = once(child, 'exit') as Promise<[number | null]>
  t.after(() => void child.kill('SIGKILL'))
  const waitFor = async (pattern: RegExp, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000
    while (!pattern.test(stdout)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `${what}:\n${stdout}\n${stderr}\n${pebble.output()}`)
      await sleep(50)
    }
  }

  await waitFor(/TLS certificate obtained and in service/, 'certificate obtained')
  assert.match(stdout, new RegExp(`public URL +https://localhost:${httpsPort}\\n`))
  assert.match(stdout, /TLS +automatic \(ACME\) for localhost/)
  const root = await pebble.rootPem()
  const serial = await servedSerial(httpsPort, root)

  await pebble.stop()
  // The whole line (it is parsed below), not a chunk of it.
  await waitFor(/TLS CERTIFICATE RENEWAL FAILED[^\n]*\n/, 'renewal failure logged')
  const failure = stdout.split('\n').find((line) => line.includes('TLS CERTIFICATE RENEWAL FAILED'))!
  const record = JSON.parse(failure) as { level: number; msg: string; domain: string }
  assert.equal(record.level, 50, 'logged at error level')
  assert.match(record.msg, /keeping the current certificate, valid until/)
  // Compared by serial, unverified: on a slow machine the 9-second certificate may have run out by now.
  assert.equal(await servedSerial(httpsPort, null), serial, 'the old certificate is still served')

  child.kill('SIGTERM')
  const [code] = await exited
  assert.equal(code, 0, stderr)
})
