// Signed URL tokens: round trip, expiry at the injected clock's boundary, and every kind of forgery.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import type { TokenPurpose } from '../../src/ota/url-token.ts'
import { createUrlSigner, MAX_TOKEN_LENGTH, TOKEN_PURPOSES } from '../../src/ota/url-token.ts'

const SECRET = new Uint8Array(32).map((_, i) => i * 7 + 1)
const START = new Date('2026-11-26T12:00:00.250Z')

function signerAt(clock: { now: Date }, secret: Uint8Array = SECRET) {
  return createUrlSigner({ secret, now: () => clock.now })
}

function rejectsWith(code: 'token-invalid' | 'token-expired', run: () => unknown, reason?: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isAirstripError(error, code), `expected ${code}, got ${String(error)}`)
    if (reason) assert.equal(error.details?.['reason'], reason)
    return true
  })
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const mac = (payload: string, secret = SECRET) => createHmac('sha256', secret).update(payload).digest('base64url')

test('a token verifies for its purpose and returns subject and expiry (whole seconds)', () => {
  const clock = { now: START }
  const signer = signerAt(clock)
  for (const purpose of TOKEN_PURPOSES) {
    const token = signer.sign({ purpose, subject: 'bld_8Kx2-Qz', ttlSeconds: 3600 })
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/, 'path-safe characters only')
    const verified = signer.verify(token, purpose)
    assert.equal(verified.subject, 'bld_8Kx2-Qz')
    assert.equal(verified.expiresAt.toISOString(), '2026-11-26T13:00:00.000Z')
  }
})

test('the payload binds version, purpose, subject and expiry', () => {
  const token = signerAt({ now: START }).sign({ purpose: 'ipa', subject: 'abc', ttlSeconds: 60 })
  const payload = Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')
  assert.equal(payload, `v1:ipa:abc:${Math.floor(START.getTime() / 1000) + 60}`)
})

test('expiry: valid one millisecond before, expired exactly at expiresAt and after', () => {
  const clock = { now: START }
  const signer = signerAt(clock)
  const token = signer.sign({ purpose: 'manifest', subject: 'b1', ttlSeconds: 600 })
  const expiresAt = new Date('2026-11-26T12:10:00.000Z')
  clock.now = new Date(expiresAt.getTime() - 1)
  assert.equal(signer.verify(token, 'manifest').subject, 'b1')
  clock.now = expiresAt
  rejectsWith('token-expired', () => signer.verify(token, 'manifest'))
  clock.now = new Date(expiresAt.getTime() + 86_400_000)
  rejectsWith('token-expired', () => signer.verify(token, 'manifest'))
})

test('issuedAt backdates a token (never beyond ttl from now) and may not lie in the future', () => {
  const clock = { now: START }
  const signer = signerAt(clock)
  const windowStart = new Date('2026-11-26T11:59:00.000Z')
  const token = signer.sign({ purpose: 'ipa', subject: 'b1', ttlSeconds: 600, issuedAt: windowStart })
  assert.equal(signer.verify(token, 'ipa').expiresAt.toISOString(), '2026-11-26T12:09:00.000Z')
  assert.equal(token, signerAt({ now: new Date('2026-11-26T11:59:59.999Z') }).sign({ purpose: 'ipa', subject: 'b1', ttlSeconds: 600, issuedAt: windowStart }), 'same window, same token')
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: 'b1', ttlSeconds: 600, issuedAt: new Date(START.getTime() + 1) }), /future/)
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: 'b1', ttlSeconds: 600, issuedAt: new Date(Number.NaN) }), /valid time/)
})

test('a token for another purpose is refused', () => {
  const signer = signerAt({ now: START })
  const icon = signer.sign({ purpose: 'icon', subject: 'b1', ttlSeconds: 600 })
  for (const purpose of ['ipa', 'manifest', 'enroll'] as TokenPurpose[]) {
    rejectsWith('token-invalid', () => signer.verify(icon, purpose), 'wrong purpose')
  }
  rejectsWith('token-invalid', () => signer.verify(icon, 'nonsense' as TokenPurpose), 'wrong purpose')
})

test('a re-encoded payload with another purpose, subject or expiry fails the signature', () => {
  const signer = signerAt({ now: START })
  const token = signer.sign({ purpose: 'icon', subject: 'b1', ttlSeconds: 600 })
  const signature = token.split('.')[1]
  const exp = Math.floor(START.getTime() / 1000) + 600
  for (const forged of [`v1:ipa:b1:${exp}`, `v1:icon:b2:${exp}`, `v1:icon:b1:${exp + 3600}`, `v2:icon:b1:${exp}`]) {
    rejectsWith('token-invalid', () => signer.verify(`${b64(forged)}.${signature}`, 'icon'), 'bad signature')
  }
})

test('a flipped character anywhere in the token is refused', () => {
  const signer = signerAt({ now: START })
  const token = signer.sign({ purpose: 'ipa', subject: 'build42', ttlSeconds: 600 })
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '.') continue
    const flipped = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
    rejectsWith('token-invalid', () => signer.verify(flipped, 'ipa'))
  }
})

test('a token signed with another secret is refused', () => {
  const other = createUrlSigner({ secret: new Uint8Array(32).fill(9), now: () => START })
  const token = other.sign({ purpose: 'ipa', subject: 'b1', ttlSeconds: 600 })
  rejectsWith('token-invalid', () => signerAt({ now: START }).verify(token, 'ipa'), 'bad signature')
})

test('validly signed but malformed payloads are refused as malformed', () => {
  const signer = signerAt({ now: START })
  for (const payload of ['v1:ipa:b1', 'v1:ipa:b1:12:extra', 'v1:ipa::99999999999', 'v1:ipa:b/1:99999999999', 'v1:ipa:b1:-5', 'v1:ipa:b1:1e12', 'garbage']) {
    const encoded = b64(payload)
    rejectsWith('token-invalid', () => signer.verify(`${encoded}.${mac(encoded)}`, 'ipa'), 'malformed')
  }
})

test('garbage, empty and oversized tokens are refused before any work', () => {
  const signer = signerAt({ now: START })
  for (const garbage of ['', '.', 'abc', 'a.b', 'a..b', '%2E%2E', 'a b.c', 'ä.ö', `${'A'.repeat(10)}.${'B'.repeat(44)}`, 'x.'.repeat(30)]) {
    rejectsWith('token-invalid', () => signer.verify(garbage, 'ipa'), 'malformed')
  }
  rejectsWith('token-invalid', () => signer.verify(`${'A'.repeat(MAX_TOKEN_LENGTH)}.${'B'.repeat(43)}`, 'ipa'), 'too long')
  rejectsWith('token-invalid', () => signer.verify('A'.repeat(10_000_000), 'ipa'), 'too long')
})

test('the non-canonical base64url spelling of a valid signature is refused', () => {
  const signer = signerAt({ now: START })
  const token = signer.sign({ purpose: 'ipa', subject: 'b1', ttlSeconds: 600 })
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(token.at(-1) ?? '')
  // 43 characters carry 258 bits for 256: the last character's low 2 bits are ignored by decoders.
  const twin = token.slice(0, -1) + alphabet[last ^ 1]
  assert.deepEqual(Buffer.from(twin.split('.')[1] ?? '', 'base64url'), Buffer.from(token.split('.')[1] ?? '', 'base64url'))
  rejectsWith('token-invalid', () => signer.verify(twin, 'ipa'), 'bad signature')
})

test('sign refuses bad claims and short secrets (programming errors)', () => {
  const signer = signerAt({ now: START })
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: 'a/b', ttlSeconds: 60 }), /subject/)
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: 'a:b', ttlSeconds: 60 }), /subject/)
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: '', ttlSeconds: 60 }), /subject/)
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: 'ok', ttlSeconds: 0 }), /ttlSeconds/)
  assert.throws(() => signer.sign({ purpose: 'ipa', subject: 'ok', ttlSeconds: 1.5 }), /ttlSeconds/)
  assert.throws(() => signer.sign({ purpose: 'admin' as TokenPurpose, subject: 'ok', ttlSeconds: 60 }), /purpose/)
  assert.throws(() => createUrlSigner({ secret: new Uint8Array(16), now: () => START }), /32 bytes/)
})
