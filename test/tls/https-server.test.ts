import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request, createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import { ensureDevCertificates } from '../../src/tls/dev-certificates.ts'
import type { DevCertificates } from '../../src/tls/dev-certificates.ts'
import { tempDir } from '../support/fixtures.ts'

interface Answer {
  status: number | undefined
  body: string
  protocol: string | null
}

/** GET / over TLS to 127.0.0.1:port; `servername` is both SNI and the name checked against the SAN. */
function get(port: number, options: { ca?: string; servername?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, ...options }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol()
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode, body, protocol }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('a node:https server with the development certificate', () => {
  let certs: DevCertificates
  let port = 0
  let server: ReturnType<typeof createServer>
  const dir = tempDir({ after })

  before(async () => {
    certs = await ensureDevCertificates(dir, ['localhost', '127.0.0.1'])
    server = createServer({ key: certs.keyPem, cert: certs.certPem }, (_req, res) => res.end('airstrip'))
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as AddressInfo).port
  })

  after(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })

  test('is trusted for "localhost" by a client that trusts only the CA', async () => {
    const answer = await get(port, { ca: certs.caCertPem, servername: 'localhost' })
    assert.equal(answer.status, 200)
    assert.equal(answer.body, 'airstrip')
    assert.ok(answer.protocol === 'TLSv1.2' || answer.protocol === 'TLSv1.3', `protocol ${answer.protocol}`)
  })

  test('is trusted for the IP address 127.0.0.1 through its IP SAN', async () => {
    const answer = await get(port, { ca: certs.caCertPem })
    assert.equal(answer.status, 200)
    assert.equal(answer.body, 'airstrip')
  })

  test('is refused for a host name the certificate does not carry', async () => {
    await assert.rejects(get(port, { ca: certs.caCertPem, servername: 'elsewhere.example' }), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
      return true
    })
  })

  test('is refused by a client that does not trust the CA', async () => {
    await assert.rejects(get(port, { servername: 'localhost' }), (error: NodeJS.ErrnoException) => {
      assert.match(String(error.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/)
      return true
    })
  })
})
