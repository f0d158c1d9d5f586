import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { ADAPTERS, manualClock } from './meta-store-adapters.ts'

for (const adapter of ADAPTERS) {
  describe(`MetaStore API tokens (${adapter.name})`, () => {
    it('creates a token shown once, stores only its SHA-256, and verifies it', async (t) => {
      const clock = manualClock()
      const { meta, db } = await adapter.open(t, { now: clock.now })
      const created = await meta.createApiToken('  github-actions ')
      assert.match(created.token, /^as_[A-Za-z0-9_-]{43}$/)
      assert.equal(Buffer.from(created.token.slice(3), 'base64url').length, 32)

      const rows = await db.selectFrom('api_tokens').selectAll().execute()
      assert.equal(rows.length, 1)
      assert.equal(rows[0]?.token_hash, createHash('sha256').update(created.token).digest('hex'))
      assert.equal(rows[0]?.name, 'github-actions')
      assert.ok(!JSON.stringify(rows).includes(created.token.slice(3)), 'the token itself must not be stored')

      const listed = await meta.listApiTokens()
      assert.deepEqual(listed, [{ id: created.id, name: 'github-actions', createdAt: clock.now().toISOString(), lastUsedAt: null, scope: 'full', bundleId: null, createdBy: null }])

      const usedAt = clock.tick(60_000)
      assert.deepEqual(await meta.verifyApiToken(created.token), { id: created.id, name: 'github-actions', scope: 'full', bundleId: null })
      assert.equal((await meta.listApiTokens())[0]?.lastUsedAt, usedAt)
    })

    it('rejects unknown, altered and malformed tokens', async (t) => {
      const { meta } = await adapter.open(t)
      const { token } = await meta.createApiToken('ci')
      const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
      for (const candidate of [flipped, `as_${'A'.repeat(43)}`, '', 'as_', token.slice(3), `${token}x`, token.toUpperCase(), ` ${token}`]) {
        assert.equal(await meta.verifyApiToken(candidate), null, candidate)
      }
      assert.equal((await meta.listApiTokens())[0]?.lastUsedAt, null)
    })

    it('revokes a token by id', async (t) => {
      const { meta } = await adapter.open(t)
      const kept = await meta.createApiToken('kept')
      const gone = await meta.createApiToken('gone')
      assert.notEqual(kept.token, gone.token)
      assert.equal(await meta.revokeApiToken(gone.id), true)
      assert.equal(await meta.revokeApiToken(gone.id), false)
      assert.equal(await meta.verifyApiToken(gone.token), null)
      assert.deepEqual(await meta.verifyApiToken(kept.token), { id: kept.id, name: 'kept', scope: 'full', bundleId: null })
      assert.deepEqual((await meta.listApiTokens()).map((token) => token.id), [kept.id])
    })

    it('refuses an empty name', async (t) => {
      const { meta } = await adapter.open(t)
      await assert.rejects(meta.createApiToken('   '), (error) => isAirstripError(error, 'bad-request'))
      assert.deepEqual(await meta.listApiTokens(), [])
    })
  })
}

for (const adapter of ADAPTERS) {
  describe(`MetaStore API token scopes (${adapter.name})`, () => {
    it('creates full tokens by default and upload-only tokens, optionally for one app', async (t) => {
      const clock = manualClock()
      const { meta } = await adapter.open(t, { now: clock.now })
      const full = await meta.createApiToken('admin')
      clock.tick()
      const upload = await meta.createApiToken('ci', { scope: 'upload', bundleId: 'com.example.app', createdBy: 'user-1' })
      assert.deepEqual(await meta.verifyApiToken(full.token), { id: full.id, name: 'admin', scope: 'full', bundleId: null })
      assert.deepEqual(await meta.verifyApiToken(upload.token), { id: upload.id, name: 'ci', scope: 'upload', bundleId: 'com.example.app' })
      const listed = await meta.listApiTokens()
      assert.deepEqual(listed.map((token) => [token.name, token.scope, token.bundleId, token.createdBy]), [['admin', 'full', null, null], ['ci', 'upload', 'com.example.app', 'user-1']])
    })

    it('refuses an unknown scope and a malformed bundle id', async (t) => {
      const { meta } = await adapter.open(t)
      await assert.rejects(meta.createApiToken('x', { scope: 'root' as 'full' }), (error) => isAirstripError(error, 'bad-request'))
      await assert.rejects(meta.createApiToken('x', { bundleId: 'com.example/../x' }), (error) => isAirstripError(error, 'bad-request'))
      assert.deepEqual(await meta.listApiTokens(), [])
    })
  })
}
