// A local HTTPS server implementing the contract of App Store Connect's device endpoints (Apple is
// not reachable from tests): it verifies every JWT with the key's public half, as Apple does.
import { randomBytes, verify, type KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { generateCa, issueServerCertificate } from '../../src/tls/certificate-factory.ts'

export interface ContractDevice {
  id: string
  type: 'devices'
  attributes: { name: string; udid: string; platform: string; status: string; deviceClass: string; model: string | null; addedDate: string }
}

export interface AscContractServer {
  baseUrl: string
  /** PEM of the CA that issued the server's certificate (the client must trust it). */
  ca: string
  devices: ContractDevice[]
  /** Every request, with its verified JWT claims (null when refused). */
  seen: Array<{ method: string; path: string; claims: Record<string, unknown> | null; header: Record<string, unknown> | null }>
  /** Makes the next page links point elsewhere (a client must not follow them with its token). */
  foreignNextLink: boolean
  close(): Promise<void>
}

const UDID = /^([0-9a-f]{40}|[0-9A-F]{8}-[0-9A-F]{16})$/i

/**
 * Starts the contract server. `publicKey` is the public half of the API key; `issuerId`/`keyId`
 * are what the tokens must name. `classOf(udid)` decides a new device's deviceClass (Apple reads it
 * from the device record; IPHONE when the test says nothing).
 */
export async function startAscContractServer(options: { issuerId: string; keyId: string; publicKey: KeyObject; classOf?: (udid: string) => string; now?: () => Date }): Promise<AscContractServer> {
  const now = options.now ?? (() => new Date())
  const ca = await generateCa('ASC contract test CA', now())
  const leaf = await issueServerCertificate(ca, [{ type: 'ip', value: '127.0.0.1' }, { type: 'dns', value: 'localhost' }], now())
  const state = { devices: [] as ContractDevice[], seen: [] as AscContractServer['seen'], foreignNextLink: false }
  let baseUrl = ''

  const server: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      try {
        handle()
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ errors: [{ status: '500', code: 'UNEXPECTED_ERROR', title: 'contract server failure', detail: String(error) }] }))
      }
    })
    const handle = (): void => {
      const url = new URL(req.url ?? '/', baseUrl)
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      const error = (status: number, code: string, title: string, detail: string): void => send(status, { errors: [{ id: randomBytes(8).toString('hex'), status: String(status), code, title, detail }] })
      const auth = checkToken(req.headers.authorization, options, now())
      state.seen.push({ method: req.method ?? '', path: url.pathname + url.search, claims: auth.ok ? auth.claims : null, header: auth.ok ? auth.header : null })
      if (!auth.ok) return error(401, 'NOT_AUTHORIZED', 'Authentication credentials are missing or invalid.', auth.why)

      if (req.method === 'POST' && url.pathname === '/v1/devices') {
        let body: { data?: { type?: unknown; attributes?: { name?: unknown; udid?: unknown; platform?: unknown } } }
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          return error(400, 'PARAMETER_ERROR.INVALID', 'A parameter has an invalid value', 'the body is not JSON')
        }
        const attributes = body.data?.attributes
        if (body.data?.type !== 'devices' || !attributes) return error(409, 'ENTITY_ERROR', 'The provided entity is invalid', 'data.type must be "devices"')
        const { name, udid, platform } = attributes
        if (platform !== 'IOS' && platform !== 'MAC_OS') return error(409, 'ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.', `An invalid value '${String(platform)}' was provided for the parameter 'platform'.`)
        if (typeof udid !== 'string' || !UDID.test(udid)) return error(409, 'ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.', `An invalid value '${String(udid)}' was provided for the parameter 'udid'.`)
        if (typeof name !== 'string' || name.length === 0 || name.length > 50) return error(409, 'ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.', 'The device name must be 1 to 50 characters.')
        if (state.devices.some((device) => device.attributes.udid.toUpperCase() === udid.toUpperCase())) {
          return error(409, 'ENTITY_ERROR.ATTRIBUTE.INVALID', 'An attribute value is invalid.', `A device with number '${udid}' already exists on this team.`)
        }
        const device: ContractDevice = {
          id: randomBytes(5).toString('hex').toUpperCase(),
          type: 'devices',
          attributes: { name, udid, platform, status: 'ENABLED', deviceClass: platform === 'MAC_OS' ? 'MAC' : (options.classOf?.(udid) ?? 'IPHONE'), model: null, addedDate: now().toISOString() },
        }
        state.devices.push(device)
        return send(201, { data: device, links: { self: `${baseUrl}/v1/devices/${device.id}` } })
      }

      if (req.method === 'GET' && url.pathname === '/v1/devices') {
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 20), 200)
        if (!Number.isInteger(limit) || limit < 1) return error(400, 'PARAMETER_ERROR.INVALID', 'A parameter has an invalid value', 'limit')
        const offset = Number(url.searchParams.get('cursor') ?? 0)
        const page = state.devices.slice(offset, offset + limit)
        const more = offset + limit < state.devices.length
        const nextBase = state.foreignNextLink ? 'https://elsewhere.invalid' : baseUrl
        return send(200, {
          data: page,
          links: { self: `${baseUrl}${url.pathname}${url.search}`, ...(more ? { next: `${nextBase}/v1/devices?limit=${limit}&cursor=${offset + limit}` } : {}) },
          meta: { paging: { total: state.devices.length, limit } },
        })
      }
      return error(404, 'NOT_FOUND', 'The specified resource does not exist', `${req.method} ${url.pathname}`)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return Object.assign(state, {
    baseUrl,
    ca: ca.certPem,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  })
}

type TokenCheck = { ok: true; header: Record<string, unknown>; claims: Record<string, unknown> } | { ok: false; why: string }

/** Apple's rules for API tokens: ES256 by the named key, right issuer and audience, at most 20 minutes. */
function checkToken(authorization: string | undefined, options: { issuerId: string; keyId: string; publicKey: KeyObject }, now: Date): TokenCheck {
  const match = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(authorization ?? '')
  if (!match) return { ok: false, why: 'no bearer JWT' }
  const [, head, body, signature] = match as unknown as [string, string, string, string]
  const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as Record<string, unknown>
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
  if (header.alg !== 'ES256' || header.typ !== 'JWT' || header.kid !== options.keyId) return { ok: false, why: `header ${JSON.stringify(header)}` }
  const valid = verify('sha256', Buffer.from(`${head}.${body}`), { key: options.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
  if (!valid) return { ok: false, why: 'the signature does not verify with the key' }
  const t = Math.floor(now.getTime() / 1000)
  if (claims.iss !== options.issuerId || claims.aud !== 'appstoreconnect-v1') return { ok: false, why: 'wrong issuer or audience' }
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return { ok: false, why: 'iat/exp missing' }
  if (claims.exp - claims.iat > 20 * 60) return { ok: false, why: 'the token lives longer than 20 minutes' }
  if (claims.exp <= t || claims.iat > t + 60) return { ok: false, why: 'the token is expired or not yet valid' }
  return { ok: true, header, claims }
}
