import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AirstripError } from '../errors.ts'
import type { StagedBlob } from '../store/blob-store.ts'
import { HEARTBEAT_MS, type KeyClaim, type UploadIdempotencyStore } from '../store/upload-idempotency.ts'

/** The request header (Stripe's name; draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'
/** Set on an answer that repeats the one recorded for the key instead of doing the upload again. */
export const REPLAYED_HEADER = 'idempotent-replayed'

/**
 * The key an upload carries, or null without the header. At most 255 printable ASCII characters
 * (what Stripe accepts; a UUID is typical); anything else is refused before a byte is staged.
 */
export function parseIdempotencyKey(value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  if (typeof value !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(value) || value.trim() === '') throw new AirstripError('idempotency-key-invalid')
  return value
}

/** Whose keys an API upload's key is among: the token's (its SHA-256, as tokens are kept; the request passed requireApiToken). */
export function apiTokenOwner(request: KeyedRequest): string {
  const match = /^Bearer\s+(\S{1,512})$/i.exec(request.headers.authorization ?? '')
  if (!match?.[1]) throw new AirstripError('unauthorized')
  return `token:${createHash('sha256').update(match[1]).digest('hex')}`
}

/** What the wrapper reads of a request (any route's typed FastifyRequest has it). */
export interface KeyedRequest {
  headers: FastifyRequest['headers']
  log: FastifyRequest['log']
}

/** What an upload handler does with its request's key; with no key, both are plain pass-throughs. */
export interface UploadKey {
  /**
   * Once the file is staged: when the key already made a build from this same file, answers with
   * that build's recorded response (plus `Idempotent-Replayed: true`), discards the staged file and
   * returns true; the handler stores and notifies nothing. Another file under the key: 422.
   */
  replayed(staged: StagedBlob): Promise<boolean>
  /** Sends the new build's answer with `status`, recording it for the key first (so a retry can be answered). */
  send(status: number, body: unknown, build: { id: string; sha256: string }): Promise<FastifyReply>
}

/**
 * Runs an upload route's work with `Idempotency-Key` handling. Before the body is read, the key is
 * claimed: a key whose first request is still running gets 409 `idempotency-key-in-progress`
 * (retry later). While the claim is held it is refreshed every HEARTBEAT_MS (a crashed server's
 * claim goes stale and a retry takes over); work that fails stored no build, so the key is given
 * back and a retry runs anew.
 *
 * @example async (request, reply) => withUploadKey(services.uploadKeys, apiTokenOwner, request, reply, async (uploadKey) => { … })
 */
export async function withUploadKey<Result>(
  store: UploadIdempotencyStore,
  ownerOf: (request: KeyedRequest) => string,
  request: KeyedRequest,
  reply: FastifyReply,
  work: (uploadKey: UploadKey) => Promise<Result>,
): Promise<Result> {
  const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER])
  if (key === null) return work(withoutKey(reply))
  const owner = ownerOf(request)
  const claim = await store.claim(owner, key)
  if (claim.state === 'in-progress') throw new AirstripError('idempotency-key-in-progress')
  if (claim.state === 'completed') return work(replayingKey(claim, reply))
  let buildStored = false
  const heartbeat = setInterval(() => {
    store.heartbeat(owner, key, claim.claimId).catch((error: unknown) => request.log.warn({ err: error }, 'could not refresh an upload idempotency key'))
  }, HEARTBEAT_MS)
  heartbeat.unref()
  const held: UploadKey = {
    replayed: async () => false,
    async send(status, body, build) {
      buildStored = true
      const text = serialized(reply.code(status), body)
      try {
        const recorded = await store.complete(owner, key, claim.claimId, { fingerprint: build.sha256, buildId: build.id, status, body: text })
        if (!recorded) request.log.warn({ build: build.id }, 'the upload idempotency key was taken over before the build was recorded under it')
      } catch (error) {
        // The build is stored: answer it. A retry meets the claim (stale after a while), not a second build at once.
        request.log.error({ err: error, build: build.id }, 'could not record the upload idempotency key')
      }
      return reply.type(JSON_TYPE).send(text)
    },
  }
  try {
    return await work(held)
  } catch (error) {
    if (!buildStored) await store.release(owner, key, claim.claimId).catch((releaseError: unknown) => request.log.warn({ err: releaseError }, 'could not release an upload idempotency key'))
    throw error
  } finally {
    clearInterval(heartbeat)
  }
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** The body as the route's response schema serializes it: what is sent is what a replay repeats. */
function serialized(reply: FastifyReply, body: unknown): string {
  const payload = reply.serialize(body)
  return typeof payload === 'string' ? payload : Buffer.from(payload as Uint8Array).toString('utf8')
}

function withoutKey(reply: FastifyReply): UploadKey {
  return { replayed: async () => false, send: async (status, body) => reply.code(status).send(body) }
}

/** The key already made a build: replay its answer for the same file, refuse another file. */
function replayingKey(recorded: Extract<KeyClaim, { state: 'completed' }>, reply: FastifyReply): UploadKey {
  return {
    async replayed(staged) {
      const sameFile = staged.sha256 === recorded.fingerprint
      await staged.discard()
      if (!sameFile) throw new AirstripError('idempotency-key-reused')
      await reply.code(recorded.status).header(REPLAYED_HEADER, 'true').type(JSON_TYPE).send(recorded.body)
      return true
    },
    // Unreachable when the work asks `replayed` first, as it must.
    send: async (status, body) => reply.code(status).send(body),
  }
}
