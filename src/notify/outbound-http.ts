import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import type { IncomingHttpHeaders } from 'node:http'
import { http } from '../io/node-http.ts'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { isNonPublicAddress } from './network-policy.ts'

export interface OutboundRequest {
  url: string
  headers: Record<string, string>
  body: string | Buffer
  /** Whole exchange: connect, send, and read the answer. */
  timeoutMs: number
  /** The answer is read up to this many bytes, then the connection is dropped. */
  maxResponseBytes: number
  /** False: refuse to connect to non-public addresses (webhooks); true for admin-configured endpoints. */
  allowPrivateNetworks: boolean
  signal?: AbortSignal | undefined
}

export interface OutboundResponse {
  status: number
  headers: IncomingHttpHeaders
  /** At most `maxResponseBytes` of the answer. */
  body: Buffer
}

/** Raised before any byte is sent when the destination is not allowed; retrying cannot help. */
export class DestinationRefusedError extends Error {
  override name = 'DestinationRefusedError'
}

/**
 * POSTs `body` once and returns the status and (a capped part of) the answer. No redirects are
 * followed (a 3xx is just a status: following it would let a public URL bounce the request into
 * the private network), no cookies, no keep-alive, a time limit on the whole exchange, and a cap
 * on what is read back. With `allowPrivateNetworks` false, every address the host name resolves
 * to — and IP literals — must be public, checked in the socket's own DNS lookup so the address
 * checked is the address connected to.
 */
export function postOutbound(request: OutboundRequest): Promise<OutboundResponse> {
  return new Promise((resolve, reject) => {
    let url: URL
    try {
      url = new URL(request.url)
    } catch {
      reject(new DestinationRefusedError('not an absolute URL'))
      return
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      reject(new DestinationRefusedError(`unsupported scheme ${url.protocol}`))
      return
    }
    const literal = url.hostname.replace(/^\[|\]$/g, '')
    if (!request.allowPrivateNetworks && isIP(literal) !== 0 && isNonPublicAddress(literal)) {
      reject(new DestinationRefusedError(`${literal} is not a public address`))
      return
    }
    const send = url.protocol === 'https:' ? httpsRequest : http.request
    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body
    const req = send(url, {
      method: 'POST',
      headers: { ...request.headers, 'content-length': String(body.length), connection: 'close' },
      agent: false,
      lookup: request.allowPrivateNetworks ? undefined : publicOnlyLookup,
      signal: request.signal,
    })
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${request.timeoutMs} ms`)), request.timeoutMs)
    const finish = (error: Error | null, response?: OutboundResponse): void => {
      clearTimeout(timer)
      if (error) reject(error)
      else resolve(response!)
    }
    req.on('error', (error) => finish(error))
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      const done = (): void => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })
      res.on('data', (chunk: Buffer) => {
        const room = request.maxResponseBytes - size
        if (room > 0) chunks.push(chunk.subarray(0, room))
        size += chunk.length
        // Enough read: the status is what matters; don't let a receiver stream at us forever.
        if (size >= request.maxResponseBytes) {
          res.destroy()
          done()
        }
      })
      res.on('end', done)
      res.on('error', (error) => finish(error))
    })
    req.end(body)
  })
}

/** dns.lookup that fails when any address of the name is not public (mixing in one private address is a classic bypass). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  const all: LookupAllOptions = { ...(options as object), all: true }
  dnsLookup(hostname, all, (error, addresses: LookupAddress[]) => {
    if (error) {
      callback(error, '', 0)
      return
    }
    const refused = addresses.find((a) => isNonPublicAddress(a.address))
    if (refused || addresses.length === 0) {
      callback(new DestinationRefusedError(`${hostname} resolves to ${refused?.address ?? 'nothing'}, which is not a public address`), '', 0)
      return
    }
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
    else callback(null, addresses[0]!.address, addresses[0]!.family)
  })
}
