// Idempotency-Key on POST /api/v1/builds against the real server (real HTTP, real SQLite): a repeat
// replays the first build's answer and stores and notifies nothing; another file under the key is
// refused; concurrent attempts make one build. End to end: a TCP proxy drops the connection right
// after the server answered the first attempt, and the spawned `airstrip upload` still ends with
// exactly one build.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { uploadBuild } from '../../src/delivery/upload-client.ts'
import { api } from '../support/api.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startSmtpPeer, waitFor } from '../support/notify-peers.ts'
import { freePort, startServer, type HttpResponse, type TestServer } from '../support/server.ts'

const BIN = fileURLToPath(new URL('../../bin/airstrip.js', import.meta.url))
const IPA = fixture('ipa', 'bitbar-BitBarSampleApp.ipa')

async function twoIpas(t: { after(fn: () => void): void }): Promise<{ a: string; b: string }> {
  const dir = tempDir(t)
  const a = join(dir, 'A.ipa')
  const b = join(dir, 'B.ipa')
  await buildIpa(a, { info: { CFBundleVersion: '1' } })
  await buildIpa(b, { info: { CFBundleVersion: '2' } })
  return { a, b }
}

function upload(server: TestServer, file: string, options: { key?: string; query?: string; token?: string } = {}): Promise<HttpResponse> {
  return server.request(`${server.url}/api/v1/builds${options.query ?? ''}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${options.token ?? server.apiToken}`,
      'content-type': 'application/octet-stream',
      ...(options.key === undefined ? {} : { 'idempotency-key': options.key }),
    },
    body: readFileSync(file),
  })
}

async function buildIds(server: TestServer): Promise<string[]> {
  return (await api(server)('GET', '/api/v1/builds')).body.builds.map((b: { id: string }) => b.id)
}

test('the same key twice: one build, the second answer is the first one replayed (same status and body), one notification', async (t) => {
  const smtp = await startSmtpPeer(t)
  const server = await startServer(t, { smtpUrl: smtp.url })
  const call = api(server)
  const { a } = await twoIpas(t)
  const tester = (await call('POST', '/api/v1/testers', { name: 'Ann', email: 'ann@example.test' })).body
  assert.equal((await call('PATCH', '/api/v1/apps/com.example.app/notifications', { addTesterIds: [tester.id] })).status, 200)

  const key = '7f1c6a52-2b8e-4d0e-9c55-1f0b7a1e2d33'
  const first = await upload(server, a, { key, query: '?notify=true&notes=first' })
  assert.equal(first.status, 201, first.text())
  assert.equal(first.headers['idempotent-replayed'], undefined)
  const second = await upload(server, a, { key, query: '?notify=true&notes=second' })
  assert.equal(second.status, 201, second.text())
  assert.equal(second.headers['idempotent-replayed'], 'true')
  assert.match(String(second.headers['content-type']), /^application\/json/)
  assert.equal(second.text(), first.text(), 'byte for byte the first answer')
  assert.equal(second.json().notes, 'first')
  assert.deepEqual(await buildIds(server), [first.json().id])

  const deliveries = await waitFor(async () => {
    const list = (await call('GET', '/api/v1/deliveries')).body.deliveries
    return list.length > 0 && list.every((d: { status: string }) => d.status === 'delivered') && list
  }, 'the delivery sent')
  assert.deepEqual(deliveries.map((d: { recipient: string }) => d.recipient), ['ann@example.test'], 'one notification in the outbox')
  assert.equal(smtp.messages.length, 1)

  // Keys belong to the token that sent them: another token's key of the same name is a new upload.
  const { token: other } = await server.app.services.meta.createApiToken('other')
  const third = await upload(server, a, { key, token: other })
  assert.equal(third.status, 201)
  assert.equal(third.headers['idempotent-replayed'], undefined)
  assert.notEqual(third.json().id, first.json().id)
  assert.equal((await buildIds(server)).length, 2)
})

test('the same key with another file: 422 idempotency-key-reused and nothing stored; a failed upload frees its key', async (t) => {
  const server = await startServer(t)
  const { a, b } = await twoIpas(t)
  const first = await upload(server, a, { key: 'release-42' })
  assert.equal(first.status, 201)
  const other = await upload(server, b, { key: 'release-42' })
  assert.equal(other.status, 422)
  assert.equal(other.json().error, 'idempotency-key-reused')
  assert.deepEqual(await buildIds(server), [first.json().id])

  // Refused uploads (here: not an .ipa) record nothing under their key, so the retry is a real upload.
  const notIpa = await upload(server, fixture('ipa-malformed', 'fastlane-not-an-ipa.ipa'), { key: 'second' })
  assert.equal(notIpa.status, 422)
  assert.equal(notIpa.json().error, 'not-a-zip')
  const retried = await upload(server, b, { key: 'second' })
  assert.equal(retried.status, 201)
  assert.equal(retried.headers['idempotent-replayed'], undefined)
  assert.equal((await buildIds(server)).length, 2)
})

test('concurrent uploads with one key: one build; the others are told it is in progress (409) or get it replayed', async (t) => {
  const server = await startServer(t)
  const answers = await Promise.all(Array.from({ length: 4 }, () => upload(server, IPA, { key: 'concurrent' })))
  const made = answers.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined)
  assert.equal(made.length, 1, answers.map((r) => `${r.status} ${r.text().slice(0, 80)}`).join('\n'))
  const id = made[0]!.json().id
  for (const answer of answers) {
    if (answer.status === 409) assert.equal(answer.json().error, 'idempotency-key-in-progress')
    else {
      assert.equal(answer.status, 201)
      assert.equal(answer.json().id, id)
    }
  }
  assert.ok(answers.some((r) => r.status === 409), 'the first is still being stored while the others arrive')
  assert.deepEqual(await buildIds(server), [id])
  const later = await upload(server, IPA, { key: 'concurrent' })
  assert.equal(later.headers['idempotent-replayed'], 'true')
  assert.equal(later.json().id, id)
})

test('keys are validated (400, nothing stored); no key keeps the old behaviour; a key is forgotten after 24 h', async (t) => {
  const server = await startServer(t)
  const { a } = await twoIpas(t)
  for (const bad of ['k'.repeat(256), 'tab\tinside', 'caf\u00e9', '   ']) {
    const answer = await upload(server, a, { key: bad })
    assert.equal(answer.status, 400, JSON.stringify(bad))
    assert.equal(answer.json().error, 'idempotency-key-invalid')
  }
  assert.deepEqual(await buildIds(server), [])
  assert.equal((await upload(server, a, { key: `${'k'.repeat(254)}~` })).status, 201, '255 printable characters are fine')

  const plain1 = await upload(server, a)
  const plain2 = await upload(server, a)
  assert.equal(plain1.status, 201)
  assert.equal(plain2.status, 201)
  assert.equal(plain2.headers['idempotent-replayed'], undefined)
  assert.notEqual(plain1.json().id, plain2.json().id, 'without a key every upload is a build')

  const day = await upload(server, a, { key: 'daily' })
  server.setNow(new Date(Date.now() + 25 * 60 * 60 * 1000))
  const nextDay = await upload(server, a, { key: 'daily' })
  assert.equal(nextDay.status, 201)
  assert.equal(nextDay.headers['idempotent-replayed'], undefined)
  assert.notEqual(nextDay.json().id, day.json().id)
  assert.equal((await buildIds(server)).length, 5)
})

test('the upload client waits while the server says an earlier attempt is in progress, then succeeds', async (t) => {
  const server = await startServer(t, { insecureHttp: true })
  const { a } = await twoIpas(t)
  const key = 'held-by-another-attempt'
  // An earlier attempt of this upload, still running on the server, holds the key.
  const owner = `token:${createHash('sha256').update(server.apiToken).digest('hex')}`
  const earlier = await server.app.services.uploadKeys.claim(owner, key)
  assert.ok(earlier.state === 'claimed')
  const waits: string[] = []
  const result = await uploadBuild(
    { serverUrl: server.url, token: server.apiToken },
    { file: a, notes: null, notify: false, idempotencyKey: key },
    {
      retrying: ({ reason }) => {
        waits.push(reason)
        // It ends (fails, storing nothing) after the client was told to wait twice.
        if (waits.length === 2) void server.app.services.uploadKeys.release(owner, key, earlier.claimId)
      },
    },
    { retries: 0, initialDelayMs: 20, maxDelayMs: 100, idleTimeoutMs: 10_000, inProgressWaits: 5 },
  )
  assert.deepEqual(waits, ['409 the server is still storing an earlier attempt', '409 the server is still storing an earlier attempt'])
  assert.equal(result.status, 201)
  assert.equal(result.replayed, false)
  assert.deepEqual(await buildIds(server), [result.body['id']])
})

/**
 * A TCP proxy before a plain-HTTP server. On the first connection that sends a POST, it forwards
 * the request, lets the server's response headers through, then resets the client's connection
 * (as a load balancer dropping a connection would): the server has stored the build, the client
 * never reads the answer. Every POST's response head is kept in `postHeads`.
 */
async function startDroppingProxy(t: { after(fn: () => unknown): void }, upstreamPort: number): Promise<{ url: string; postHeads: string[] }> {
  const postHeads: string[] = []
  const sockets = new Set<Socket>()
  let posts = 0
  const proxy = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    let post: number | null = null
    // Bytes of a POST's answer until its head is complete; then everything passes straight through.
    let head: Buffer | null = Buffer.alloc(0)
    client.once('data', (chunk: Buffer) => {
      if (chunk.subarray(0, 5).toString('latin1') === 'POST ') post = ++posts
    })
    client.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (post === null || head === null) return void client.write(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      postHeads.push(head.subarray(0, end).toString('latin1'))
      if (post !== 1) {
        client.write(head)
        head = null
        return
      }
      // The headers reach the client; then the connection drops before the body.
      client.write(head.subarray(0, end + 4), () => setTimeout(() => {
        client.resetAndDestroy()
        upstream.destroy()
      }, 50))
    })
    upstream.on('end', () => client.end())
  })
  const port = await freePort()
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise((resolve) => proxy.close(resolve))
  })
  return { url: `http://127.0.0.1:${port}`, postHeads }
}

test('end to end: the connection drops right after the server answered 201; `airstrip upload` retries and ends with exactly one build', async (t) => {
  const server = await startServer(t, { insecureHttp: true })
  const proxy = await startDroppingProxy(t, Number(new URL(server.url).port))
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'upload', IPA, '--server', proxy.url, '--token', server.apiToken, '--json', '--retry-delay', '20'],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stderr, /attempt 1 failed: .+; retrying in/)
  assert.equal(proxy.postHeads.length, 2, 'the file was sent twice')
  assert.match(proxy.postHeads[0]!, /^HTTP\/1\.1 201 /, 'the first attempt was stored and answered')
  assert.doesNotMatch(proxy.postHeads[0]!, /idempotent-replayed/i)
  assert.match(proxy.postHeads[1]!, /^HTTP\/1\.1 201 /)
  assert.match(proxy.postHeads[1]!, /^idempotent-replayed: true$/im, 'the retry got the stored build')
  const body = JSON.parse(run.stdout)
  assert.deepEqual(await buildIds(server), [body.id], 'exactly one build')
  assert.equal(body.app.bundleId, 'org.reactjs.native.example.BitBarSampleApp')
  // The CLI says the build came from the earlier attempt: in --json and on stderr.
  assert.equal(body.replayed, true)
  assert.ok(run.stderr.includes(`already uploaded by an earlier attempt: build ${body.id}`), run.stderr)
  assert.doesNotMatch(run.stderr, /^uploaded: build/m)

  // Human output: the install page URL on stdout, the same line on stderr.
  const secondProxy = await startDroppingProxy(t, Number(new URL(server.url).port))
  const human = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'upload', IPA, '--server', secondProxy.url, '--token', server.apiToken, '--retry-delay', '20'],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
  assert.equal(human.code, 0, human.stderr)
  assert.match(secondProxy.postHeads[1]!, /^idempotent-replayed: true$/im)
  const ids = await buildIds(server)
  assert.equal(ids.length, 2, 'a new upload (new key), stored once')
  const newId = ids.find((id) => id !== body.id)!
  assert.equal(human.stdout, `${server.url}/i/${newId}\n`)
  assert.ok(human.stderr.includes(`already uploaded by an earlier attempt: build ${newId}`), human.stderr)
})
