// Per-tester links in release mail: when a build's channel is invite-only, each tester's mail (and
// its QR code) carries that tester's own personal link, which opens the page; a public build's
// mail keeps the shared install page link. Real SMTP on loopback, real server, real HTTP.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import jsqr from 'jsqr'
import type { AddressObject } from 'mailparser'
import { PNG } from 'pngjs'
import { api } from '../support/api.ts'
import { tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startSmtpPeer, waitFor, type ReceivedMail } from '../support/notify-peers.ts'
import { startServer, type TestServer } from '../support/server.ts'

const jsQR = jsqr.default
const BUNDLE_ID = 'com.example.personal'

function decodeQr(png: Buffer): string | null {
  const image = PNG.sync.read(png)
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height)?.data ?? null
}

function recipient(mail: ReceivedMail): string {
  const to = mail.parsed.to as AddressObject | AddressObject[] | undefined
  return (Array.isArray(to) ? to : to ? [to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''))[0] ?? ''
}

/** The link in the plain-text part ("Install: …"). */
function installLink(mail: ReceivedMail): string {
  const match = /^Install: (\S+)$/m.exec(mail.parsed.text ?? '')
  assert.ok(match, mail.parsed.text)
  return match[1]!
}

async function upload(server: TestServer, ipa: string, query: string): Promise<any> {
  const response = await server.request(`${server.url}/api/v1/builds?notify=true&${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' },
    body: await readFile(ipa),
  })
  assert.equal(response.status, 201, response.text())
  return response.json()
}

test('an invite-only build mails each tester their own personal link; a public build mails the shared page', async (t) => {
  const smtp = await startSmtpPeer(t)
  const server = await startServer(t, { smtpUrl: smtp.url })
  const call = api(server)
  const jane = (await call('POST', '/api/v1/testers', { name: 'Jane', email: 'jane@example.test' })).body
  const bob = (await call('POST', '/api/v1/testers', { name: 'Bob', email: 'bob@example.test' })).body
  assert.equal((await call('PATCH', `/api/v1/apps/${BUNDLE_ID}/notifications`, { testerIds: [jane.id, bob.id] })).status, 200)
  const ipa = join(tempDir(t), 'Personal.ipa')
  await buildIpa(ipa, { info: { CFBundleIdentifier: BUNDLE_ID } })

  // Public (the app's default channel): the shared install page, as before.
  const open = await upload(server, ipa, '')
  await waitFor(() => smtp.messages.length >= 2, 'two mails for the public build')
  for (const mail of smtp.messages) assert.equal(installLink(mail), `${server.url}/i/${open.id}`)

  // Invite-only channel.
  const channel = await call('PATCH', `/api/v1/apps/${BUNDLE_ID}/channels/beta`, { access: 'invite' })
  assert.equal(channel.status, 200, JSON.stringify(channel.body))
  assert.equal(channel.body.effectiveAccess, 'invite')
  const beta = await upload(server, ipa, 'channel=beta')
  assert.equal(beta.channel, 'beta')
  await waitFor(() => smtp.messages.length >= 4, 'two mails for the invite-only build')
  assert.equal((await server.request(`${server.url}/i/${beta.id}`)).status, 403, 'the shared page does not open it')

  const links = new Map<string, string>()
  for (const mail of smtp.messages.slice(2)) {
    const link = installLink(mail)
    assert.match(link, new RegExp(`^${server.url}/t/[A-Za-z0-9_-]{43}/${beta.id}$`))
    const html = typeof mail.parsed.html === 'string' ? mail.parsed.html : ''
    assert.ok(html.includes(`href="${link}"`), 'the personal link in the HTML part')
    assert.ok(!html.includes(`/i/${beta.id}`), 'never the shared page link')
    const qr = mail.parsed.attachments.find((a) => a.cid === 'install-qr@airstrip')
    assert.ok(qr)
    assert.equal(decodeQr(qr.content), link, 'the QR code is the personal link too')
    const page = await server.request(link)
    assert.equal(page.status, 200, link)
    assert.match(page.text(), /beta/)
    links.set(recipient(mail), link)
  }
  assert.deepEqual([...links.keys()].sort(), ['bob@example.test', 'jane@example.test'])
  assert.notEqual(links.get('jane@example.test'), links.get('bob@example.test'), 'one link per tester')

  // Each link is a grant of its own tester, scoped to the channel: revoking Jane's stops hers only.
  const list: Array<{ id: string; tester: { id: string }; channel: string | null }> = (await call('GET', `/api/v1/apps/${beta.app.id}/invites`)).body.invites
  assert.deepEqual(list.map((g) => `${g.tester.id}:${g.channel}`).sort(), [`${bob.id}:beta`, `${jane.id}:beta`].sort())
  assert.equal((await call('DELETE', `/api/v1/invites/${list.find((g) => g.tester.id === jane.id)!.id}`)).status, 204)
  assert.equal((await server.request(links.get('jane@example.test')!)).status, 410)
  assert.equal((await server.request(links.get('bob@example.test')!)).status, 200)
})
