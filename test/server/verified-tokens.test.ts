// The verified-token memo of the install routes (src/server/verified-tokens.ts) against the real
// signer: a token verified once passes again without the HMAC, and nothing the signer would refuse
// gets through it — expired by the clock, another purpose, a changed MAC, garbage.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { createUrlSigner, type TokenPurpose, type UrlSigner } from '../../src/ota/url-token.ts'
import { createVerifiedTokens } from '../../src/server/verified-tokens.ts'

function setup() {
  let nowMs = Date.parse('2026-11-26T12:00:00Z')
  const now = (): Date => new Date(nowMs)
  const signer = createUrlSigner({ secret: randomBytes(32), now })
  // Counts the signer's own verifications: what the memo saves.
  let signerCalls = 0
  const counting: UrlSigner = { sign: (claim) => signer.sign(claim), verify: (token, purpose) => (signerCalls++, signer.verify(token, purpose)) }
  return { signer, tokens: createVerifiedTokens(counting, now), calls: () => signerCalls, advance: (ms: number) => void (nowMs += ms) }
}

const code = (run: () => unknown): string | null => {
  try {
    run()
    return null
  } catch (error) {
    return isAirstripError(error) ? error.code : String(error)
  }
}

test('a token verified once passes again without the signer, with the same claim', () => {
  const { signer, tokens, calls } = setup()
  const token = signer.sign({ purpose: 'manifest', subject: 'build-1', ttlSeconds: 600 })
  const first = tokens.verify(token, 'manifest')
  assert.equal(calls(), 1)
  for (let i = 0; i < 5; i++) assert.deepEqual(tokens.verify(token, 'manifest'), first)
  assert.equal(calls(), 1)
  assert.deepEqual(first, signer.verify(token, 'manifest'))
  const granted = signer.sign({ purpose: 'ipa', subject: 'build-1', ttlSeconds: 600, grant: 'grant-1' })
  assert.equal(tokens.verify(granted, 'ipa').grant, 'grant-1')
  assert.equal(tokens.verify(granted, 'ipa').grant, 'grant-1')
  assert.equal(calls(), 2)
})

test('what the signer refuses is refused the same way, remembered token or not', () => {
  const { signer, tokens, advance } = setup()
  const token = signer.sign({ purpose: 'manifest', subject: 'build-1', ttlSeconds: 60 })
  tokens.verify(token, 'manifest')
  const [signed, mac] = token.split('.') as [string, string]
  const flipped = `${signed}.${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`
  assert.equal(code(() => tokens.verify(flipped, 'manifest')), 'token-invalid', 'a known signed part with another MAC')
  assert.equal(code(() => tokens.verify(`${signed}.${mac}x`, 'manifest')), 'token-invalid', 'a longer MAC')
  assert.equal(code(() => tokens.verify(token, 'ipa' as TokenPurpose)), 'token-invalid', 'another purpose')
  for (const garbage of ['', '.', 'abc', `.${mac}`, `${signed}.`, 'x'.repeat(600)]) assert.equal(code(() => tokens.verify(garbage, 'manifest')), 'token-invalid', garbage.slice(0, 20))
  assert.equal(tokens.verify(token, 'manifest').subject, 'build-1', 'the real one still passes')
  advance(60_000)
  assert.equal(code(() => tokens.verify(token, 'manifest')), 'token-expired', 'expired by the clock although remembered')
})
