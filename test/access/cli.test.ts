// `airstrip channels …` and the periodic retention run, against a live server's data dir.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { api } from '../support/api.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { fixture } from '../support/fixtures.ts'
import { waitFor } from '../support/notify-peers.ts'
import { startServer, type TestServer } from '../support/server.ts'
import { uploadTo } from './access-helpers.ts'

function cli(server: TestServer) {
  // Settings right after the subcommand; ids (random base64url, maybe starting with "-") after "--".
  return (...args: string[]): Promise<CliRun> => runCli([...args.slice(0, 2), '--data-dir', server.dataDir, '--public-url', server.url, ...args.slice(2)])
}

test('channels from the command line: access, personal links, revoking, keep', async (t) => {
  const server = await startServer(t)
  const run = cli(server)
  const build = await uploadTo(server, fixture('ipa', 'lagunitas-Sample.ipa'), 'beta')
  await api(server)('POST', '/api/v1/testers', { name: 'Jane', email: 'jane@example.com' })

  const set = await run('channels', 'set', 'com.samsoffes.Sample', 'beta', '--access', 'invite')
  assert.equal(set.code, 0, set.stderr)
  assert.equal((await server.request(`${server.url}/i/${build.id}`)).status, 403)
  const invite = await run('channels', 'invite', 'com.samsoffes.Sample', 'jane@example.com', '--channel', 'beta', '--json')
  assert.equal(invite.code, 0, invite.stderr)
  const { id, url } = JSON.parse(invite.stdout)
  assert.ok(url.startsWith(`${server.url}/t/`))
  assert.equal((await server.request(url)).status, 200)
  assert.match((await run('channels', 'invites', 'com.samsoffes.Sample')).stdout, new RegExp(`${id}  Jane <jane@example.com>  beta  live`))
  assert.match((await run('channels', 'list', 'com.samsoffes.Sample')).stdout, /beta {2}access invite {2}1 build {2}retention off/)

  assert.equal((await run('channels', 'revoke', '--', id)).code, 0)
  assert.equal((await server.request(url)).status, 410)
  const again = await run('channels', 'revoke', '--', id)
  assert.deepEqual([again.code, again.stderr.startsWith('airstrip: grant-not-found')], [2, true])
  assert.equal((await run('channels', 'set', 'com.samsoffes.Sample', 'beta', '--access', 'sometimes')).code, 2)

  assert.equal((await run('channels', 'access', 'com.samsoffes.Sample', 'password')).code, 2, 'a password mode needs a password')
  assert.equal((await run('channels', 'access', 'com.samsoffes.Sample', 'password', '--password', 'open sesame')).code, 0)
  assert.equal((await run('channels', 'set', 'com.samsoffes.Sample', 'beta', '--access', 'inherit')).code, 0)
  assert.match((await server.request(`${server.url}/i/${build.id}`)).text(), /id="unlock"/)
  const kept = await run('channels', 'keep', '--', build.id)
  assert.equal(kept.stdout, `${build.id} kept\n`, kept.stderr)
  assert.equal((await run('channels', 'keep', 'nope')).code, 2)
})

test('the server applies retention rules on its own, periodically', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t, { retentionInterval: '1' })
  const call = api(server)
  server.setNow(new Date('2026-06-01T00:00:00.000Z'))
  const old = await uploadTo(server, fixture('ipa', 'lagunitas-Sample.ipa'), 'nightly')
  server.setNow(new Date('2026-06-02T00:00:00.000Z'))
  const newer = await uploadTo(server, fixture('ipa', 'lagunitas-Sample.ipa'), 'nightly')
  assert.equal((await call('PATCH', `/api/v1/apps/${old.app.id}/channels/nightly`, { retention: { keepLast: 1 } })).status, 200)
  await waitFor(async () => (await call('GET', `/api/v1/builds/${old.id}`)).status === 404, 'the periodic run', 10_000)
  assert.equal((await call('GET', `/api/v1/builds/${newer.id}`)).status, 200)
})
