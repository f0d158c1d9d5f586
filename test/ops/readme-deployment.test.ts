// The README's deployment snippets, exercised: the nginx site in front of a real Airstrip (real
// nginx, real TLS, uploads and ranged downloads through it), and the systemd unit through
// `systemd-analyze verify` and Airstrip's own configuration loader.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { request, type RequestOptions } from 'node:https'
import type { IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../../src/config.ts'
import { ensureDevCertificates } from '../../src/tls/dev-certificates.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { freeLoopbackPorts } from '../support/ports.ts'
import { startServer } from '../support/server.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const DEPLOYMENT = README.slice(README.indexOf('## Deployment'), README.indexOf('## Layout'))
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path))

/** The fenced blocks of the deployment section in one language. */
function blocks(language: string): string[] {
  return [...DEPLOYMENT.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]!)
}

/** `--flag value` / `--flag` pairs of an `airstrip serve` command line, as loadConfig takes them. */
function serveFlags(line: string): Record<string, string | boolean> {
  const words = line.trim().split(/\s+/)
  const flags: Record<string, string | boolean> = {}
  for (let i = words.indexOf('serve') + 1; i < words.length; i++) {
    const key = words[i]!.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
    if (words[i + 1] && !words[i + 1]!.startsWith('--')) flags[key] = words[++i]!
    else flags[key] = true
  }
  return flags
}

function send(url: string, options: RequestOptions, body?: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('README nginx site: uploads and ranged .ipa downloads pass through intact, links use the public URL', { skip: NGINX ? false : 'nginx is not installed (.ci/run installs it)', timeout: 60_000 }, async (t) => {
  const command = blocks('sh').flatMap((block) => block.split('\n')).find((line) => line.includes('serve --insecure-http'))!
  const flags = serveFlags(command)
  const readmeConfig = loadConfig(flags, {})
  assert.equal(readmeConfig.tls.mode, 'insecure-http')
  assert.equal(readmeConfig.trustProxy, true)
  assert.equal(readmeConfig.publicUrl, 'https://builds.example.com')

  const [nginxPort] = (await freeLoopbackPorts(1)) as [number]
  const publicUrl = `https://builds.example.com:${nginxPort}`
  // The README's flags, on a free port (the harness picks one) and with the test's public port.
  const { port: _readmePort, ...settings } = flags
  const server = await startServer(t, { ...settings, publicUrl })
  const airstripPort = (server.app.server.server.address() as { port: number }).port

  const dir = tempDir(t, 'airstrip-nginx-')
  const certs = await ensureDevCertificates(join(dir, 'certs'), ['builds.example.com'])
  writeFileSync(join(dir, 'fullchain.pem'), certs.certPem)
  writeFileSync(join(dir, 'privkey.pem'), certs.keyPem)
  const site = blocks('nginx')[0]!
    .replace('listen 443 ssl;', `listen 127.0.0.1:${nginxPort} ssl;`)
    .replace(/\/etc\/letsencrypt\/live\/builds\.example\.com\//g, `${dir}/`)
    .replace('http://127.0.0.1:8080', `http://127.0.0.1:${airstripPort}`)
  for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, temp))
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;\nmaster_process off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n` +
      ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((temp) => `  ${temp === 'body' ? 'client_body' : temp}_temp_path ${dir}/${temp};\n`).join('') +
      `${site}}\n`,
  )
  const nginx = spawn(NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  t.after(async () => {
    nginx.kill('SIGTERM')
    if (nginx.exitCode === null) await once(nginx, 'exit')
  })
  for (let attempt = 0; ; attempt++) {
    const up = await new Promise<boolean>((resolve) => connect(nginxPort, '127.0.0.1').on('connect', function (this: import('node:net').Socket) {
      this.end()
      resolve(true)
    }).on('error', () => resolve(false)))
    if (up) break
    assert.ok(attempt < 100 && nginx.exitCode === null, `nginx did not start: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`)
    await sleep(50)
  }

  // builds.example.com → 127.0.0.1, where nginx listens.
  const lookup = (_host: string, lookupOptions: { all?: boolean }, callback: (...args: unknown[]) => void): void =>
    lookupOptions.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)
  const options = { ca: certs.caCertPem, lookup } as RequestOptions
  const ipa = join(dir, 'app.ipa')
  await buildIpa(ipa, { files: [{ name: 'payload.bin', data: Buffer.alloc(3 * 1024 * 1024, 9) }] })
  const bytes = readFileSync(ipa)
  const upload = await send(`${publicUrl}/api/v1/builds`, { ...options, method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream', 'content-length': String(statSync(ipa).size) } }, bytes)
  assert.equal(upload.status, 201, upload.body.toString())
  const build = JSON.parse(upload.body.toString())
  assert.ok(build.manifestUrl.startsWith(`${publicUrl}/m/`), 'links are built from the public URL')
  const manifest = await send(build.manifestUrl, options)
  assert.equal(manifest.status, 200)
  const ipaUrl = String(/<string>(https:[^<]+\.ipa)<\/string>/.exec(manifest.body.toString())?.[1]).replaceAll('&amp;', '&')
  const whole = await send(ipaUrl, { ...options, headers: { 'accept-encoding': 'gzip, br' } })
  assert.equal(whole.status, 200)
  assert.equal(whole.headers['content-length'], String(bytes.length))
  assert.equal(whole.headers['content-encoding'], undefined)
  assert.ok(whole.body.equals(bytes))
  const range = await send(ipaUrl, { ...options, headers: { range: 'bytes=1000-1999' } })
  assert.equal(range.status, 206)
  assert.equal(range.headers['content-range'], `bytes 1000-1999/${bytes.length}`)
  assert.ok(range.body.equals(bytes.subarray(1000, 2000)))
})

test('README systemd unit: systemd accepts it, and its environment is a valid --domain configuration', { timeout: 30_000 }, (t) => {
  const unit = blocks('ini')[0]!
  const env = Object.fromEntries([...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]))
  const config = loadConfig({}, env)
  assert.equal(config.tls.mode, 'acme')
  assert.equal(config.port, 443)
  assert.equal(config.httpPort, 80)
  assert.equal(config.publicUrl, 'https://builds.example.com')
  assert.equal(config.dataDir, '/var/lib/airstrip')
  assert.ok(Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]) > config.shutdownTimeoutSeconds, 'systemd waits longer than the drain')
  const execStart = /^ExecStart=\/opt\/airstrip\/node_modules\/\.bin\/node (--[a-z-]+=\d+ )?bin\/airstrip\.js serve$/m.exec(unit)
  assert.ok(execStart, 'ExecStart runs bin/airstrip.js serve with the bundled Node')
  // The V8 flag the README recommends must be one this Node accepts (it refuses unknown flags at start).
  if (execStart[1]) assert.equal(spawnSync(process.execPath, [execStart[1].trim(), '-e', '0']).status, 0, execStart[1])
  const domainLine = blocks('sh').flatMap((block) => block.split('\n')).find((line) => line.includes('serve --domain'))!
  const fromCommand = loadConfig(serveFlags(domainLine), {})
  assert.deepEqual([fromCommand.tls.mode, fromCommand.publicUrl, fromCommand.dataDir], ['acme', 'https://builds.example.com', '/var/lib/airstrip'])

  if (!existsSync('/usr/bin/systemd-analyze')) return t.skip('systemd-analyze is not installed')
  // The same unit with this checkout in place of /opt/airstrip and an existing user.
  const dir = tempDir(t)
  const path = join(dir, 'airstrip.service')
  writeFileSync(path, unit.replaceAll('/opt/airstrip', ROOT.replace(/\/$/, '')).replace('User=airstrip', 'User=root'))
  const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  assert.doesNotMatch(`${result.stdout}${result.stderr}`, /Unknown|invalid|Failed|ignoring/i)
})
