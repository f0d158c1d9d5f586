import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ensureDevCertificates } from '../../src/tls/dev-certificates.ts'
import { tempDir } from './fixtures.ts'
import { freeLoopbackPorts } from './ports.ts'

/** Debian's pebble (installed by .ci/run): a real ACME CA, for tests only. */
export const PEBBLE_BINARY = '/usr/bin/pebble'

export interface PebbleOptions {
  /** Port pebble's VA connects to for HTTP-01 (Airstrip's plain-HTTP port). */
  httpPort: number
  /** Port pebble's VA connects to for TLS-ALPN-01 (Airstrip's HTTPS port). */
  tlsPort: number
  /** Lifetime of issued certificates, seconds (pebble's `certificateValidityPeriod`). */
  validitySeconds?: number
}

export interface Pebble {
  directoryUrl: string
  /** PEM file trusting pebble's own HTTPS (pass as --acme-ca-root). */
  wfeCaPath: string
  wfeCaPem: string
  /** The root that signs issued chains (from the management API; new at every start). */
  rootPem(): Promise<string>
  /** The intermediate that signs leaves. */
  intermediatePem(): Promise<string>
  /** Stops pebble: "the CA is down". */
  stop(): Promise<void>
  /** pebble's output so far, for failure messages. */
  output(): string
}

/**
 * Starts pebble on free loopback ports with a temp config: its WFE certificate comes from a local
 * CA made for the occasion, challenges are validated for real against `httpPort`/`tlsPort`
 * (PEBBLE_VA_NOSLEEP only removes the artificial delay), and authorizations are never reused so
 * every order answers a challenge. Stopped when the test ends.
 */
export async function startPebble(t: { after(fn: () => unknown): void }, options: PebbleOptions): Promise<Pebble> {
  const dir = tempDir(t, 'airstrip-pebble-')
  const wfe = await ensureDevCertificates(join(dir, 'wfe'), ['localhost', '127.0.0.1'])
  const wfeCaPath = join(dir, 'wfe-ca.pem')
  writeFileSync(wfeCaPath, wfe.caCertPem)
  writeFileSync(join(dir, 'wfe.crt'), wfe.certPem)
  writeFileSync(join(dir, 'wfe.key'), wfe.keyPem)
  const [acmePort, managementPort] = (await freeLoopbackPorts(2)) as [number, number]
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(dir, 'wfe.crt'),
      privateKey: join(dir, 'wfe.key'),
      httpPort: options.httpPort,
      tlsPort: options.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  }
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify(config))
  const child: ChildProcess = spawn(PEBBLE_BINARY, ['-config', join(dir, 'pebble.json'), '-strict=false'], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()))
  let running = true
  const exited = once(child, 'exit').then(() => void (running = false))
  const stop = async (): Promise<void> => {
    if (!running) return
    child.kill('SIGTERM')
    await exited
  }
  t.after(stop)

  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`
  const get = (url: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      request(url, { ca: wfe.caCertPem, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      })
        .on('error', reject)
        .end()
    })
  // Pebble makes its CA keys at start: on a loaded machine that takes a while.
  for (const deadline = Date.now() + 30_000; ; ) {
    const ready = await get(directoryUrl).then((r) => r.status === 200, () => false)
    if (ready) break
    if (!running || Date.now() > deadline) throw new Error(`pebble did not start:\n${log}`)
    await sleep(50)
  }
  const management = async (path: string): Promise<string> => {
    const answer = await get(`https://127.0.0.1:${managementPort}${path}`)
    if (answer.status !== 200) throw new Error(`pebble ${path}: ${answer.status}`)
    return answer.body
  }
  return {
    directoryUrl,
    wfeCaPath,
    wfeCaPem: wfe.caCertPem,
    rootPem: () => management('/roots/0'),
    intermediatePem: () => management('/intermediates/0'),
    stop,
    output: () => log,
  }
}
