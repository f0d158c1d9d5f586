// The pure decisions behind channels, access, analytics and retention (src/access), with fixed clocks.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { effectivePolicy, judgeGrant, type GrantFacts } from '../../src/access/access-policy.ts'
import { planAppPage, type ChannelView } from '../../src/access/app-page-plan.ts'
import { createAttemptLimiter } from '../../src/access/attempt-limiter.ts'
import { addInterval, coveredBytes, coversWhole, MAX_INTERVALS, parseIntervals } from '../../src/access/byte-coverage.ts'
import { parseChannelName } from '../../src/access/channel-name.ts'
import { hashPassword, verifyPassword } from '../../src/access/password-hash.ts'
import { planRetention } from '../../src/access/retention-plan.ts'
import { isAirstripError } from '../../src/errors.ts'

const NOW = new Date('2026-11-26T12:00:00.000Z')

describe('channel names', () => {
  it('lower-cases and accepts path-safe names, refuses the rest', () => {
    assert.equal(parseChannelName(' Beta '), 'beta')
    assert.equal(parseChannelName('release-2.x_rc'), 'release-2.x_rc')
    for (const bad of ['', '-beta', 'a/b', 'é', 'x'.repeat(41), '..', 'has space']) {
      assert.throws(() => parseChannelName(bad), (e) => isAirstripError(e, 'bad-request'), bad)
    }
  })
})

describe('grants', () => {
  const invite: GrantFacts = { id: 'g1', kind: 'invite', bundleId: 'com.x', channel: 'beta', testerId: 't1', expiresAt: null, revokedAt: null }
  const password: GrantFacts = { id: 'g2', kind: 'password', bundleId: 'com.x', channel: null, testerId: null, expiresAt: null, revokedAt: null }
  const beta = { bundleId: 'com.x', channel: 'beta' }
  const inviteOnly = effectivePolicy('com.x', 'public', { name: 'beta', access: 'invite' })
  const appPassword = effectivePolicy('com.x', 'password', { name: 'beta', access: 'inherit' })

  it('resolves inherited and own modes', () => {
    assert.deepEqual(appPassword, { mode: 'password', source: { bundleId: 'com.x', channel: null } })
    assert.deepEqual(inviteOnly, { mode: 'invite', source: { bundleId: 'com.x', channel: 'beta' } })
  })

  it('opens what the grant covers while it lives, and says why not otherwise', () => {
    const cases: Array<[string, GrantFacts | null, typeof inviteOnly, { bundleId: string; channel: string }, string]> = [
      ['live invite', invite, inviteOnly, beta, 'ok'],
      ['deleted grant', null, inviteOnly, beta, 'revoked'],
      ['revoked', { ...invite, revokedAt: '2026-11-26T11:00:00.000Z' }, inviteOnly, beta, 'revoked'],
      ['expired', { ...invite, expiresAt: '2026-11-26T12:00:00.000Z' }, inviteOnly, beta, 'revoked'],
      ['other channel', invite, effectivePolicy('com.x', 'public', { name: 'main', access: 'invite' }), { bundleId: 'com.x', channel: 'main' }, 'denied'],
      ['other app', invite, inviteOnly, { bundleId: 'com.y', channel: 'beta' }, 'denied'],
      ['mode changed to password', invite, appPassword, beta, 'denied'],
      ['channel made public', invite, effectivePolicy('com.x', 'public', { name: 'beta', access: 'public' }), beta, 'ok'],
      ['app password opens inheriting channel', password, appPassword, beta, 'ok'],
      ['app password does not open a channel with its own', password, effectivePolicy('com.x', 'public', { name: 'beta', access: 'password' }), beta, 'denied'],
      ['password grant on invite-only channel', password, inviteOnly, beta, 'denied'],
    ]
    for (const [name, grant, policy, target, expected] of cases) {
      const decision = judgeGrant(grant, policy, target, NOW)
      assert.equal(decision.ok ? 'ok' : decision.outcome, expected, name)
    }
  })
})

describe('app page plan', () => {
  const view = (name: string, mode: ChannelView['mode'], open: boolean, latest: string | null = `${name}-1`, sourceChannel: string | null = name): ChannelView => ({
    name, mode, open, latestBuildId: latest, source: { bundleId: 'com.x', channel: sourceChannel },
  })
  it('shows main first, lists open and password channels, hides invite-only ones', () => {
    const plan = planAppPage([view('beta', 'public', true), view('main', 'public', true), view('qa', 'invite', false), view('rc', 'password', false)])
    assert.equal(plan.kind, 'show')
    if (plan.kind !== 'show') return
    assert.equal(plan.heroBuildId, 'main-1')
    assert.deepEqual(plan.listed.map((c) => c.name), ['beta', 'main', 'rc'])
  })
  it('falls back to another open channel, then a password form, then a denial', () => {
    const other = planAppPage([view('main', 'invite', false), view('beta', 'public', true), view('empty', 'public', true, null)])
    assert.deepEqual(other.kind === 'show' && [other.heroChannel, other.heroBuildId], ['beta', 'beta-1'])
    assert.deepEqual(planAppPage([view('main', 'password', false, 'm', null), view('beta', 'password', false, 'b', null)]), { kind: 'password', scope: { bundleId: 'com.x', channel: null } })
    assert.deepEqual(planAppPage([view('beta', 'password', false)]), { kind: 'password', scope: { bundleId: 'com.x', channel: 'beta' } })
    assert.deepEqual(planAppPage([view('main', 'invite', false)]), { kind: 'denied' })
    assert.deepEqual(planAppPage([]), { kind: 'denied' })
  })
})

describe('byte coverage', () => {
  it('merges overlapping and touching pieces in any order', () => {
    let covered = addInterval([], 500, 1000)
    covered = addInterval(covered, 0, 100)
    covered = addInterval(covered, 200, 300)
    assert.deepEqual(covered, [[0, 100], [200, 300], [500, 1000]])
    assert.equal(coveredBytes(covered), 700)
    covered = addInterval(covered, 100, 200)
    assert.deepEqual(covered, [[0, 300], [500, 1000]])
    covered = addInterval(covered, 250, 600)
    assert.deepEqual(covered, [[0, 1000]])
    assert.equal(coversWhole(covered, 1000), true)
    assert.equal(coversWhole(covered, 1001), false)
    assert.deepEqual(addInterval(covered, 5, 5), covered, 'an empty piece changes nothing')
    assert.deepEqual(addInterval([], -1, 5), [], 'nonsense is ignored')
  })
  it('never grows past its cap and never claims bytes it was not given', () => {
    let covered: Array<[number, number]> = []
    for (let i = 0; i < MAX_INTERVALS + 50; i++) covered = addInterval(covered, i * 10, i * 10 + 5)
    assert.equal(covered.length, MAX_INTERVALS)
    assert.equal(coveredBytes(covered), MAX_INTERVALS * 5)
    assert.deepEqual(parseIntervals('[[10,20],[0,10],"x",[5]]'), [[0, 20]])
    assert.deepEqual(parseIntervals('not json'), [])
  })
})

describe('retention plan', () => {
  const day = 24 * 60 * 60 * 1000
  const builds = [0, 1, 2, 3, 4, 5].map((age) => ({ id: `b${age}`, createdAt: new Date(NOW.getTime() - age * day - 1000).toISOString(), keep: age === 4 }))
  const deleted = (policy: Parameters<typeof planRetention>[1]) => planRetention(builds, policy, NOW).delete.sort()
  it('keeps the newest, the marked and what either rule keeps', () => {
    assert.deepEqual(deleted({ keepLast: 2, maxAgeDays: null }), ['b2', 'b3', 'b5'])
    assert.deepEqual(deleted({ keepLast: null, maxAgeDays: 3 }), ['b3', 'b5'])
    assert.deepEqual(deleted({ keepLast: 4, maxAgeDays: 1 }), ['b5'])
    assert.deepEqual(deleted({ keepLast: 1, maxAgeDays: null }), ['b1', 'b2', 'b3', 'b5'])
    assert.deepEqual(deleted({ keepLast: null, maxAgeDays: null }), [], 'no rule, nothing deleted')
    const decision = planRetention(builds, { keepLast: 1, maxAgeDays: null }, NOW)
    assert.deepEqual(decision.keep, [{ id: 'b0', because: 'newest' }, { id: 'b4', because: 'marked-keep' }])
  })
  it('never deletes the only build, even an old one', () => {
    assert.deepEqual(planRetention([{ id: 'old', createdAt: '2020-01-01T00:00:00.000Z', keep: false }], { keepLast: null, maxAgeDays: 1 }, NOW).delete, [])
  })
})

describe('wrong-password limiter', () => {
  it('blocks after max failures within the window, per key, then lets go', () => {
    let now = NOW.getTime()
    const limiter = createAttemptLimiter({ max: 3, windowMs: 60_000, now: () => new Date(now) })
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter('a'), 0)
      limiter.fail('a')
      now += 1000
    }
    assert.equal(limiter.retryAfter('a'), 57)
    assert.equal(limiter.retryAfter('b'), 0, 'another key is unaffected')
    now += 57_000
    assert.equal(limiter.retryAfter('a'), 0)
    limiter.fail('b')
    limiter.reset('b')
    assert.equal(limiter.retryAfter('b'), 0)
  })
  it('stays bounded in memory', () => {
    const limiter = createAttemptLimiter({ max: 1, windowMs: 60_000, now: () => NOW, maxKeys: 10 })
    for (let i = 0; i < 100; i++) limiter.fail(`k${i}`)
    assert.equal(limiter.retryAfter('k99'), 60)
    assert.equal(limiter.retryAfter('k0'), 0, 'the oldest keys were dropped')
  })
})

describe('channel passwords (argon2id)', () => {
  it('hashes with a salt and verifies only the right password', async () => {
    const hash = await hashPassword('correct horse')
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    assert.notEqual(await hashPassword('correct horse'), hash, 'salted')
    assert.equal(await verifyPassword('correct horse', hash), true)
    assert.equal(await verifyPassword('correct horsE', hash), false)
    assert.equal(await verifyPassword('correct horse', 'not a hash'), false)
    assert.equal(await verifyPassword('x'.repeat(10_000), hash), false)
    await assert.rejects(hashPassword('short'), (e) => isAirstripError(e, 'bad-request'))
  })
})
