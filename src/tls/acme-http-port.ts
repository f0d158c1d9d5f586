import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { http } from '../io/node-http.ts'
import type { ChallengeResponder } from './acme-challenges.ts'
import { HTTP_CHALLENGE_PREFIX } from './acme-challenges.ts'

/** What the plain-HTTP port answers to one request. */
export interface HttpPortAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * The plain-HTTP port's whole behaviour, pure: ACME HTTP-01 challenge paths get their key
 * authorization (404 when unknown), everything else a redirect to the same path on the HTTPS
 * public origin. The target's origin always comes from the public URL, never from the Host
 * header, so the port cannot be used as an open redirect.
 */
export function answerHttpPortRequest(method: string, target: string, publicUrl: string, challenges: ChallengeResponder | null): HttpPortAnswer {
  const path = target.startsWith('/') && !target.startsWith('//') ? target : '/'
  const pathname = path.split('?')[0] ?? '/'
  if (pathname.startsWith(HTTP_CHALLENGE_PREFIX)) {
    const answer = method === 'GET' || method === 'HEAD' ? (challenges?.httpAnswer(pathname) ?? null) : null
    return answer === null ? plain(404, 'no such challenge\n') : challengeAnswer(answer)
  }
  const location = `${new URL(publicUrl).origin}${path}`
  // 301 for GET/HEAD (understood by every client); 308 keeps the method and body for the rest.
  const status = method === 'GET' || method === 'HEAD' ? 301 : 308
  return { status, headers: { location, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body: `Airstrip is served over HTTPS: ${location}\n` }
}

/**
 * The server on the plain-HTTP port (80 in production). Short timeouts: it only ever answers tiny
 * requests, so a client that dawdles is not one we need to wait for.
 */
export function createHttpPortServer(publicUrl: string, challenges: ChallengeResponder | null): Server {
  const server = http.createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? 'GET'
    let answer = answerHttpPortRequest(method, request.url ?? '/', publicUrl, challenges)
    if (answer.status === 404 && challenges && (method === 'GET' || method === 'HEAD')) answer = await sharedChallengeAnswer(request.url ?? '/', challenges, answer)
    response.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body), 'x-content-type-options': 'nosniff' })
    response.end(request.method === 'HEAD' ? undefined : answer.body)
    // Whatever body the client sent is not read: drop it rather than buffer it.
    request.resume()
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 15_000
  server.keepAliveTimeout = 5_000
  return server
}

/**
 * A challenge this instance did not order may have been ordered by another sharing the database
 * (the load balancer sends the CA's request to any instance): ask the shared store. A failed
 * lookup is a 503, so it is not mistaken for "no such challenge".
 */
async function sharedChallengeAnswer(target: string, challenges: ChallengeResponder, local: HttpPortAnswer): Promise<HttpPortAnswer> {
  try {
    const answer = await challenges.httpAnswerAnywhere(target.split('?')[0] ?? '/')
    return answer === null ? local : challengeAnswer(answer)
  } catch {
    return plain(503, 'challenge lookup failed\n')
  }
}

function challengeAnswer(keyAuthorization: string): HttpPortAnswer {
  return { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' }, body: keyAuthorization }
}

function plain(status: number, body: string): HttpPortAnswer {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }, body }
}
