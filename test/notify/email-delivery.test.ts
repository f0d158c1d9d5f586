// Mail to testers through a real SMTP server on loopback: recipients, subject, both parts, the
// install link, the QR code (decoded back to the link), the icon, and who gets mail when.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import jsqr from 'jsqr'
import type { AddressObject } from 'mailparser'
import { PNG } from 'pngjs'
import { api } from '../support/api.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa } from '../support/ipa-builder.ts'
import { startSmtpPeer, waitFor, type ReceivedMail } from '../support/notify-peers.ts'
import { startServer } from '../support/server.ts'

// jsqr is CommonJS with an `exports.default`; TypeScript types the default import as the module.
const jsQR = jsqr.default
const BUNDLE_ID = 'com.example.notify'
const HOSTILE_NAME = 'Très <Bon> & "App"'
const NOTES = '<script>alert("x")</script>\nFixed the login & sync.'

function decodeQr(png: Buffer): string | null {
  const image = PNG.sync.read(png)
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height)?.data ?? null
}

function recipients(mail: ReceivedMail): string[] {
  const to = mail.parsed.to as AddressObject | AddressObject[] | undefined
  return (Array.isArray(to) ? to : to ? [to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''))
}

test('an upload with notify mails each tester of the app once, with both parts, the link and a QR code that decodes to it', async (t) => {
  const smtp = await startSmtpPeer(t)
  const server = await startServer(t, { smtpUrl: smtp.url, mailFrom: 'Airstrip QA <qa@example.test>' })
  const call = api(server)

  const jane = (await call('POST', '/api/v1/testers', { name: 'Jane', email: 'Jane@Example.test', phone: '+44 7700 900123' })).body
  const bob = (await call('POST', '/api/v1/testers', { name: 'Bob', email: 'bob@example.test' })).body
  const group = (await call('POST', '/api/v1/groups', { name: 'QA' })).body
  assert.equal((await call('PUT', `/api/v1/groups/${group.id}/members/${jane.id}`)).status, 200)
  assert.equal((await call('PUT', `/api/v1/groups/${group.id}/members/${bob.id}`)).status, 200)
  // Set up by bundle id before the first upload; Jane is linked directly and through the group.
  const settings = await call('PATCH', `/api/v1/apps/${BUNDLE_ID}/notifications`, { testerIds: [jane.id], groupIds: [group.id] })
  assert.deepEqual(settings.body, { bundleId: BUNDLE_ID, notifyOnUpload: 'on-request', testerIds: [jane.id], groupIds: [group.id] })

  const ipa = join(tempDir(t), 'Notify.ipa')
  await buildIpa(ipa, { info: { CFBundleIdentifier: BUNDLE_ID, CFBundleDisplayName: HOSTILE_NAME } })
  const uploaded = await server.request(`${server.url}/api/v1/builds?notify=true&notes=${encodeURIComponent(NOTES)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' },
    body: await import('node:fs/promises').then((fs) => fs.readFile(ipa)),
  })
  assert.equal(uploaded.status, 201, uploaded.text())
  const build = uploaded.json()
  const link = build.installPageUrl as string
  assert.equal(link, `${server.url}/i/${build.id}`)

  await waitFor(() => smtp.messages.length >= 2, 'two mails')
  const delivered = await waitFor(async () => {
    const list = (await call('GET', `/api/v1/deliveries?buildId=${build.id}`)).body
    return list.deliveries.every((d: { status: string }) => d.status === 'delivered') && list.deliveries
  }, 'deliveries marked delivered')
  assert.deepEqual(delivered.map((d: { channel: string; recipient: string }) => `${d.channel}:${d.recipient}`).sort(), ['email:bob@example.test', 'email:jane@example.test'])
  assert.equal(smtp.messages.length, 2, 'Jane is in the group and linked directly: still one mail')

  assert.deepEqual(smtp.messages.map((m) => recipients(m)).flat().sort(), ['bob@example.test', 'jane@example.test'])
  for (const mail of smtp.messages) {
    const { parsed } = mail
    assert.equal(mail.envelopeTo.length, 1, 'one recipient per mail: nobody sees the others')
    assert.equal(parsed.from?.value[0]?.address, 'qa@example.test')
    assert.equal(parsed.subject, `${HOSTILE_NAME} 1.2.3 (45) is ready to install`)
    assert.match(parsed.messageId ?? '', /^<[A-Za-z0-9_-]{22}@airstrip>$/)

    const text = parsed.text ?? ''
    assert.ok(text.includes(`Install: ${link}`), text)
    assert.ok(text.includes(NOTES), 'the notes, verbatim, in the plain-text part')
    assert.ok(!text.includes('itms-services'), 'never the raw itms-services link in the text part')

    const html = typeof parsed.html === 'string' ? parsed.html : ''
    assert.ok(html.includes(`href="${link}"`), 'the install page link in the HTML part')
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'notes escaped')
    assert.ok(!html.includes('<script>'), 'no markup from the upload survives')
    assert.ok(html.includes('Tr\u00e8s &lt;Bon&gt; &amp; &quot;App&quot;'), 'the app name escaped')
    assert.ok(!html.includes('itms-services'))

    const qr = parsed.attachments.find((a) => a.contentType === 'image/png' && a.cid === 'install-qr@airstrip')
    assert.ok(qr, 'an inline QR code image')
    assert.ok(html.includes('src="cid:install-qr@airstrip"'))
    assert.equal(decodeQr(qr.content), link, 'the QR code decodes to the install page link')
  }
})

test('who is mailed: on-request apps only when asked, "always" apps on every upload, notify=false never; icons are attached', async (t) => {
  const smtp = await startSmtpPeer(t)
  const server = await startServer(t, { smtpUrl: smtp.url })
  const call = api(server)
  const tester = (await call('POST', '/api/v1/testers', { name: 'Ann', email: 'ann@example.test' })).body
  const sample = 'com.samsoffes.Sample' // the lagunitas fixture, which has a real (CgBI) icon
  await call('PATCH', `/api/v1/apps/${sample}/notifications`, { addTesterIds: [tester.id] })
  const emailsFor = async (buildId: string) => (await call('GET', `/api/v1/deliveries?buildId=${buildId}&channel=email`)).body.deliveries.length

  const quiet = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))).json()
  assert.equal(await emailsFor(quiet.id), 0, 'on-request and not asked: nobody is mailed')

  // The multipart field works like the query parameter.
  const boundary = '----airstrip-notify'
  const ipa = await import('node:fs/promises').then((fs) => fs.readFile(fixture('ipa', 'lagunitas-Sample.ipa')))
  const multipart = await server.request(`${server.url}/api/v1/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="Sample.ipa"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      ipa,
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="notify"\r\n\r\ntrue\r\n--${boundary}--\r\n`),
    ]),
  })
  assert.equal(multipart.status, 201, multipart.text())
  assert.equal(await emailsFor(multipart.json().id), 1)
  const mail = await waitFor(() => smtp.messages[0], 'the mail')
  const icon = mail.parsed.attachments.find((a) => a.cid === 'app-icon@airstrip')
  assert.ok(icon, 'the app icon is attached inline')
  const png = PNG.sync.read(icon.content)
  assert.equal(png.width, 152, 'the standard PNG made from the CgBI icon')
  assert.ok(String(mail.parsed.html).includes('src="cid:app-icon@airstrip"'))

  const bad = await server.request(`${server.url}/api/v1/builds?notify=maybe`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' }, body: ipa })
  assert.equal(bad.status, 400)

  assert.equal((await call('PATCH', `/api/v1/apps/${sample}/notifications`, { notifyOnUpload: 'always' })).body.notifyOnUpload, 'always')
  const always = (await server.upload(fixture('ipa', 'lagunitas-Sample.ipa'))).json()
  assert.equal(await emailsFor(always.id), 1, 'always: mailed without asking')
  const suppressed = await server.request(`${server.url}/api/v1/builds?notify=false`, { method: 'POST', headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/octet-stream' }, body: ipa })
  assert.equal(await emailsFor(suppressed.json().id), 0, 'notify=false overrides "always"')
  await waitFor(() => smtp.messages.length === 2, 'the second mail')
})
