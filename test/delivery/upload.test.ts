// `airstrip upload` against the real server over HTTPS (its dev CA via --ca-file), with a real
// front proxy in between where a test needs failures injected: 503s, a reset connection, a body
// mangled on the way so the server itself answers 422.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runCli as airstrip, type CliRun as Run } from '../support/cli.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { freePort, startServer, type TestServer } from '../support/server.ts'

const BIN = fileURLToPath(new URL('../../bin/airstrip.js', import.meta.url))
const IPA = fixture('ipa', 'bitbar-BitBarSampleApp.ipa')
const FAST_RETRIES = ['--retry-delay', '20']

function caPem(server: TestServer): string {
  const der = server.app.services.devCaDer
  assert.ok(der, 'the test server runs with its dev CA')
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`
}

async function setup(t: { after(fn: () => unknown): void }, settings = {}): Promise<{ server: TestServer; dir: string; ca: string; args: (...extra: string[]) => string[] }> {
  const server = await startServer(t, settings)
  const dir = tempDir(t)
  const ca = join(dir, 'ca.pem')
  writeFileSync(ca, caPem(server))
  return { server, dir, ca, args: (...extra) => ['upload', '--server', server.url, '--token', server.apiToken, '--ca-file', ca, ...extra] }
}

async function listBuilds(server: TestServer): Promise<Array<{ id: string; notes: string | null }>> {
  return (await server.request(`${server.url}/api/v1/builds`, { headers: { authorization: `Bearer ${server.apiToken}` } })).json().builds
}

type ProxyAction = 'forward' | 'reset' | 'zero-body' | number

/**
 * A plain-HTTP front server (as a load balancer would be) before the HTTPS Airstrip server:
 * `decide(method, n)` chooses, for the n-th request with that method, to answer a status itself
 * (before reading the body, as proxies do), reset the connection mid-body, forward, or forward
 * with the body zeroed. `seen` lists "METHOD url" of every request.
 */
async function startFrontProxy(
  t: { after(fn: () => unknown): void },
  upstream: TestServer,
  decide: (method: string, n: number) => ProxyAction,
): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = []
  const ca = caPem(upstream)
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    seen.push(`${request.method} ${request.url}`)
    const action = decide(request.method ?? '', seen.filter((line) => line.startsWith(`${request.method} `)).length)
    if (typeof action === 'number') {
      response.writeHead(action, { 'content-type': 'text/html', connection: 'close' }).end(`<html><body><h1>${action}</h1>nginx</body></html>`)
      return
    }
    if (action === 'reset') {
      let received = 0
      request.on('data', (chunk: Buffer) => {
        received += chunk.length
        if (received > 64 * 1024) request.socket.destroy()
      })
      return
    }
    const target = new URL(request.url ?? '/', upstream.url)
    const forwarded = httpsRequest(target, { method: request.method, headers: { ...request.headers, host: target.host }, ca, agent: false }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(response)
    })
    forwarded.on('error', () => response.destroy())
    const zero = new Transform({ transform: (chunk: Buffer, _encoding, done) => done(null, Buffer.alloc(chunk.length)) })
    if (action === 'zero-body') request.pipe(zero).pipe(forwarded)
    else request.pipe(forwarded)
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${port}`, seen }
}

test('uploads, prints the install page URL, and logs plain progress lines when stderr is not a terminal', async (t) => {
  const { server, dir, args } = await setup(t)
  const big = join(dir, 'Big.ipa')
  await buildIpa(big, { files: [{ name: 'payload.bin', data: randomBytes(12 * 1024 * 1024) }] })
  const notes = 'Fixed the <login> bug & more: 100% + "quotes"\nsecond line'
  const run = await airstrip(args(big, '--notes', notes))
  assert.equal(run.code, 0, run.stderr)
  const [build] = await listBuilds(server)
  assert.ok(build)
  assert.equal(run.stdout, `${server.url}/i/${build.id}\n`)
  assert.equal(build.notes, notes)
  assert.match(run.stderr, /^Example App 1\.2\.3 \(45\) · com\.example\.app · unsigned · 12\.\d MiB\n/)
  assert.match(run.stderr, /^uploading 12\.\d MiB$/m)
  const lines = run.stderr.split('\n').filter((line) => /^\s+\d+%/.test(line))
  const percents = lines.map((line) => Number(/(\d+)%/.exec(line)![1]))
  assert.ok(lines.length >= 5 && lines.length <= 11, `one line per 10 %: ${lines.join(' | ')}`)
  assert.deepEqual([...percents].sort((a, b) => a - b), percents, 'increasing')
  assert.equal(percents.at(-1), 100)
  for (const line of lines.slice(0, -1)) assert.match(line, /^\s+\d+%  [\d.]+ (KiB|MiB) of 12\.\d MiB  [\d.]+ (B|KiB|MiB|GiB)\/s  ETA \d+:\d\d$/)
  assert.match(lines.at(-1)!, /^ {2}100%  12\.\d MiB of 12\.\d MiB  .+\/s  sent$/)
  assert.match(run.stderr, new RegExp(`uploaded: build ${build.id}`))
})

test('--json prints the server\'s answer on stdout; notes from a file; server and token from the environment', async (t) => {
  const { server, dir, ca } = await setup(t)
  const notesFile = join(dir, 'notes.txt')
  writeFileSync(notesFile, 'Release notes from a file ✓\n')
  const run = await airstrip(['upload', IPA, '--json', '--notes-file', notesFile, '--ca-file', ca], { AIRSTRIP_SERVER: server.url, AIRSTRIP_TOKEN: server.apiToken })
  assert.equal(run.code, 0, run.stderr)
  const body = JSON.parse(run.stdout)
  assert.match(body.id, /^[A-Za-z0-9_-]{22}$/)
  assert.equal(body.installPageUrl, `${server.url}/i/${body.id}`)
  assert.equal(new URL(body.itmsServicesUrl).searchParams.get('url'), body.manifestUrl)
  assert.equal(body.notes, 'Release notes from a file ✓')
  assert.equal(body.app.bundleId, 'org.reactjs.native.example.BitBarSampleApp')
  assert.ok(Array.isArray(body.problems))
  // The manifest it points at is real.
  assert.equal((await server.request(body.manifestUrl)).status, 200)
})

test('503 twice from a front proxy: retried with backoff, the file streamed again, uploaded once; notify and notes reach the server', async (t) => {
  const { server, ca } = await setup(t)
  const proxy = await startFrontProxy(t, server, (method, n) => (method === 'POST' && n <= 2 ? 503 : 'forward'))
  const run = await airstrip(['upload', IPA, '--server', proxy.url, '--token', server.apiToken, '--ca-file', ca, '--notify', '--notes', 'a & b', ...FAST_RETRIES])
  assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(proxy.seen.map((line) => line.split(' ')[0]), ['GET', 'POST', 'POST', 'POST'], 'the token check, then the file three times')
  assert.match(run.stderr, /attempt 1 failed: 503 Service Unavailable; retrying in \d+\.\d s/)
  assert.match(run.stderr, /attempt 2 failed: 503 Service Unavailable; retrying in/)
  assert.match(run.stderr, /uploading .* \(attempt 3\)/)
  const builds = await listBuilds(server)
  assert.equal(builds.length, 1)
  const query = new URL(proxy.seen[3]!.split(' ')[1]!, 'http://x').searchParams
  assert.equal(query.get('notify'), 'true')
  assert.equal(query.get('notes'), 'a & b')
  assert.equal(query.get('fileName'), 'bitbar-BitBarSampleApp.ipa')
})

test('a connection reset mid-body is retried', async (t) => {
  const { server, ca } = await setup(t)
  const proxy = await startFrontProxy(t, server, (method, n) => (method === 'POST' && n === 1 ? 'reset' : 'forward'))
  const run = await airstrip(['upload', IPA, '--server', proxy.url, '--token', server.apiToken, '--ca-file', ca, ...FAST_RETRIES])
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stderr, /attempt 1 failed: the connection to 127\.0\.0\.1:\d+ was reset; retrying/)
  assert.equal((await listBuilds(server)).length, 1)
})

test('transient failures that do not stop: exit 1 after the retries, with the last answer', async (t) => {
  const { server, ca } = await setup(t)
  const proxy = await startFrontProxy(t, server, () => 502)
  const run = await airstrip(['upload', IPA, '--server', proxy.url, '--token', server.apiToken, '--ca-file', ca, '--retries', '2', ...FAST_RETRIES])
  assert.equal(run.code, 1)
  assert.equal(proxy.seen.length, 3)
  assert.match(run.stderr, /airstrip: upload-failed: the server answered 502 Bad Gateway \(not JSON: a proxy in front of Airstrip\?\) after 3 attempts/)
  const refused = await airstrip(['upload', IPA, '--server', `http://127.0.0.1:${await freePort()}`, '--token', 'x', '--retries', '1', ...FAST_RETRIES])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /upload-failed: cannot connect to 127\.0\.0\.1:\d+: connection refused \(after 2 attempts\)/)
})

test('401, 413 and 422 fail at once with the server\'s error code and exit 2; --json prints the error body', async (t) => {
  const { server, ca } = await setup(t)
  const unauthorized = await airstrip(['upload', IPA, '--server', server.url, '--token', 'not-a-token', '--ca-file', ca, '--json'])
  assert.equal(unauthorized.code, 2)
  assert.match(unauthorized.stderr, /airstrip: upload-refused: the server refused the upload \(401 unauthorized: .+\)\. Check --token/)
  assert.equal(JSON.parse(unauthorized.stdout).error, 'unauthorized')
  assert.doesNotMatch(unauthorized.stderr, /attempt \d failed/, 'not retried')

  const proxy = await startFrontProxy(t, server, () => 'zero-body')
  const mangled = await airstrip(['upload', IPA, '--server', proxy.url, '--token', server.apiToken, '--ca-file', ca])
  assert.equal(mangled.code, 2)
  assert.match(mangled.stderr, /upload-refused: the server refused the upload \(422 not-a-zip: .+\)/)
  assert.deepEqual(proxy.seen.map((line) => line.split(' ')[0]), ['GET', 'POST'])
  assert.deepEqual(await listBuilds(server), [])
})

test('413: a server with a small limit answers before reading the body; the client stops sending and reports it', async (t) => {
  const { server, dir, args } = await setup(t, { maxUploadBytes: '100000' })
  const big = join(dir, 'Big.ipa')
  await buildIpa(big, { files: [{ name: 'payload.bin', data: randomBytes(24 * 1024 * 1024) }] })
  const run = await airstrip(args(big, '--json'))
  assert.equal(run.code, 2, run.stderr)
  assert.match(run.stderr, /upload-refused: the server refused the upload \(413 upload-too-large: .+\)\. Raise the server's --max-upload-bytes/)
  assert.equal(JSON.parse(run.stdout).error, 'upload-too-large')
  assert.deepEqual(await listBuilds(server), [])
})

test('refused locally before any byte is sent: not an .ipa, a missing file (exit 2); usage errors (exit 64)', async (t) => {
  const { server, args } = await setup(t)
  const notZip = await airstrip(args(fixture('ipa-malformed', 'fastlane-not-an-ipa.ipa')))
  assert.equal(notZip.code, 2)
  assert.match(notZip.stderr, /^airstrip: not-a-zip: /m)
  const noBundle = await airstrip(args(fixture('ipa-malformed', 'fastlane-no-app-bundle.ipa')))
  assert.equal(noBundle.code, 2)
  assert.match(noBundle.stderr, /^airstrip: no-app-bundle: /m)
  const missing = await airstrip(args('/nonexistent/App.ipa'))
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /file-not-found/)
  assert.deepEqual(await listBuilds(server), [])

  assert.equal((await airstrip(['upload', IPA, '--token', 't'])).code, 64)
  assert.match((await airstrip(['upload', IPA, '--server', server.url])).stderr, /--token <token> \(or AIRSTRIP_TOKEN\) is required/)
  assert.equal((await airstrip(args(IPA, '--notes', 'a', '--notes-file', 'b'))).code, 64)
  assert.equal((await airstrip(args(IPA, '--retries', 'many'))).code, 64)
  const long = await airstrip(args(IPA, '--notes', 'é'.repeat(3000)))
  assert.equal(long.code, 2)
  assert.match(long.stderr, /bad-request: the release notes are too long to send with a streamed upload/)
})

test('an untrusted certificate fails with a hint; the real binary trusts NODE_EXTRA_CA_CERTS', async (t) => {
  const { server, ca } = await setup(t)
  const untrusted = await airstrip(['upload', IPA, '--server', server.url, '--token', server.apiToken])
  assert.equal(untrusted.code, 1)
  assert.match(untrusted.stderr, /upload-failed: the certificate of localhost:\d+ is not trusted \([A-Z_]+\): pass its CA with --ca-file <pem> or NODE_EXTRA_CA_CERTS/)

  const spawned = await new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'upload', IPA, '--json'],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', NODE_EXTRA_CA_CERTS: ca, AIRSTRIP_SERVER: server.url, AIRSTRIP_TOKEN: server.apiToken } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
  assert.equal(spawned.code, 0, spawned.stderr)
  assert.equal(JSON.parse(spawned.stdout).app.bundleId, 'org.reactjs.native.example.BitBarSampleApp')
  assert.match(spawned.stderr, /^ {2}100%  .+ sent$/m)
})
