// Outbound POSTs against real loopback servers: the connect-time address check (a name that
// resolves to loopback is refused before any byte is sent), no redirects, the time limit and the
// cap on what is read back.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { test } from 'node:test'
import { DestinationRefusedError, postOutbound } from '../../src/notify/outbound-http.ts'
import { startHttpPeer } from '../support/notify-peers.ts'

const limits = { timeoutMs: 2000, maxResponseBytes: 1024 }

test('a host name resolving to loopback is refused at connect time unless private networks are allowed', async (t) => {
  const peer = await startHttpPeer(t)
  const port = new URL(peer.url).port
  await assert.rejects(
    postOutbound({ url: `http://localhost:${port}/x`, headers: {}, body: '{}', allowPrivateNetworks: false, ...limits }),
    (error) => error instanceof DestinationRefusedError && /not a public address/.test(error.message),
  )
  await assert.rejects(postOutbound({ url: `${peer.url}/x`, headers: {}, body: '{}', allowPrivateNetworks: false, ...limits }), DestinationRefusedError)
  assert.equal(peer.requests.length, 0, 'nothing reached the private address')
  const allowed = await postOutbound({ url: `http://localhost:${port}/x`, headers: { 'content-type': 'application/json' }, body: '{"a":1}', allowPrivateNetworks: true, ...limits })
  assert.equal(allowed.status, 200)
  assert.equal(peer.requests[0]?.body.toString(), '{"a":1}')
})

test('redirects are not followed, slow answers time out, and only the capped part of an answer is read', async (t) => {
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    if (req.url === '/redirect') res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data' }).end()
    else if (req.url === '/slow') setTimeout(() => res.end('late'), 5000).unref()
    else if (req.url === '/huge') {
      res.writeHead(200)
      const chunk = Buffer.alloc(64 * 1024, 'x')
      const pump = (): void => {
        while (res.write(chunk)) {
          if (res.destroyed) return
        }
        res.once('drain', pump)
      }
      res.on('error', () => {})
      pump()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const post = (path: string, timeoutMs = 2000) => postOutbound({ url: `${base}${path}`, headers: {}, body: 'x', allowPrivateNetworks: true, timeoutMs, maxResponseBytes: 1024 })

  assert.equal((await post('/redirect')).status, 307)
  assert.equal(hits, 1, 'the Location was not fetched')
  await assert.rejects(post('/slow', 200), /no complete answer within 200 ms/)
  const huge = await post('/huge')
  assert.equal(huge.status, 200)
  assert.equal(huge.body.length, 1024, 'an endless answer is cut at the cap')
})
