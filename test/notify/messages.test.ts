// The pure parts of notifications: message building, SMS provider requests, webhook bodies and
// signatures, backoff, the secret box, the SSRF policy, and the settings.
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { loadConfig } from '../../src/config.ts'
import { isAirstripError } from '../../src/errors.ts'
import type { BuildCreatedData } from '../../src/notify/event-payloads.ts'
import { checkWebhookUrl, isNonPublicAddress } from '../../src/notify/network-policy.ts'
import { buildReleaseEmail } from '../../src/notify/release-email.ts'
import { retryDelayMs } from '../../src/notify/retry-backoff.ts'
import { createSecretBox } from '../../src/notify/secret-box.ts'
import { buildReleaseSms, buildSmsRequest } from '../../src/notify/sms-request.ts'
import { buildWebhookBody } from '../../src/notify/webhook-body.ts'
import { signWebhookBody, verifyWebhookSignature } from '../../src/notify/webhook-signature.ts'
import { normalizeEmail, normalizePhone } from '../../src/notify/contact-fields.ts'

const DATA: BuildCreatedData = {
  app: { id: 'a'.repeat(22), bundleId: 'com.example.app', name: 'Example\r\nBcc: evil@example.test' },
  build: { id: 'b'.repeat(22), version: '2.0', build: '100', size: 1234, sha256: 'c'.repeat(64), notes: 'Line one\r\n<b>bold</b> & "quoted"\u0007', createdAt: '2026-11-26T10:00:00.000Z' },
  installPageUrl: 'https://ota.example.com/i/bbbbbbbbbbbbbbbbbbbbbb',
  appPageUrl: 'https://ota.example.com/apps/aaaaaaaaaaaaaaaaaaaaaa',
}

test('the release mail: one-line subject from untrusted names, escaped HTML, notes cleaned, only the https link', () => {
  const mail = buildReleaseEmail(DATA, { from: 'Airstrip <a@example.test>', to: 'jane@example.test', deliveryId: 'd'.repeat(22), qrPng: Buffer.from('png'), iconPng: null })
  assert.equal(mail.subject, 'Example Bcc: evil@example.test 2.0 (100) is ready to install', 'CR/LF from Info.plist cannot add headers')
  assert.ok(!/[\r\n]/.test(mail.subject))
  assert.ok(mail.text.includes('Line one\n<b>bold</b> & "quoted"'), 'plain text keeps the notes as typed (CRLF normalised, BEL dropped)')
  assert.ok(!mail.text.includes('\u0007'))
  assert.ok(mail.html.includes('&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;'))
  assert.ok(!mail.html.includes('<b>bold'))
  assert.equal(mail.attachments.length, 1, 'no icon attachment without an icon')
  assert.ok(!mail.html.includes('cid:app-icon'))
  assert.equal(mail.messageId, `<${'d'.repeat(22)}@airstrip>`)
  for (const part of [mail.text, mail.html]) assert.ok(!part.includes('itms-services'))
})

test('SMS: the link is never cut, the whole text fits one 160-character segment', () => {
  const long = { ...DATA, app: { ...DATA.app, name: 'A very long application name '.repeat(10) } }
  const text = buildReleaseSms(long)
  assert.ok(text.length <= 160, `${text.length}`)
  assert.ok(text.endsWith(` is ready: ${DATA.installPageUrl}`))
  assert.equal(buildReleaseSms(DATA), `Example Bcc: evil@example.test 2.0 (100) is ready: ${DATA.installPageUrl}`)
})

test('SMS provider requests: Twilio form POST with Basic auth; JSON template with values escaped', () => {
  const twilio = buildSmsRequest({ preset: 'twilio', url: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json', accountSid: 'AC1', authToken: 'tok', from: '+15005550006' }, '+447700900123', 'Hi & "bye"')
  assert.equal(twilio.headers['content-type'], 'application/x-www-form-urlencoded')
  assert.equal(twilio.headers['authorization'], `Basic ${Buffer.from('AC1:tok').toString('base64')}`)
  assert.deepEqual(Object.fromEntries(new URLSearchParams(twilio.body)), { To: '+447700900123', From: '+15005550006', Body: 'Hi & "bye"' })

  const template = { message: { recipients: ['{{to}}'], body: 'New: {{text}}', sender: '{{from}}' }, priority: 1 }
  const json = buildSmsRequest({ preset: 'json', url: 'https://sms.example/send', from: 'Airstrip', authorization: 'Bearer k', template }, '+15551234567', 'He said "hi"}')
  assert.equal(json.headers['authorization'], 'Bearer k')
  assert.deepEqual(JSON.parse(json.body), { message: { recipients: ['+15551234567'], body: 'New: He said "hi"}', sender: 'Airstrip' }, priority: 1 })
})

test('webhook signatures: sha256=<hex HMAC of the exact body>, checked in constant time', () => {
  const secret = 'whsec_test'
  const body = '{"type":"build.created"}'
  const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
  assert.equal(signWebhookBody(secret, body), expected)
  assert.ok(verifyWebhookSignature(secret, body, expected))
  assert.ok(!verifyWebhookSignature(secret, `${body} `, expected))
  assert.ok(!verifyWebhookSignature('whsec_other', body, expected))
  assert.ok(!verifyWebhookSignature(secret, body, undefined))
  assert.ok(!verifyWebhookSignature(secret, body, expected.toUpperCase()))
})

test('webhook bodies: the JSON envelope as stored; Slack/Teams summaries of other events', () => {
  const envelope = { id: 'e1', type: 'device.enrolled', createdAt: '2026-11-26T10:00:00.000Z', data: { device: { id: 'd1', udid: '0000-1', name: "Jane's <iPhone>", model: 'iPhone 15', osVersion: '18.1', enrolledAt: 'x' }, app: null } }
  assert.deepEqual(JSON.parse(buildWebhookBody('json', envelope)), envelope)
  const slack = JSON.parse(buildWebhookBody('slack', envelope))
  assert.equal(slack.text, "A device enrolled: Jane's &lt;iPhone&gt;, iPhone 15, iOS 18.1")
  assert.equal(slack.blocks.length, 2, 'no button without a link')
  const teams = JSON.parse(buildWebhookBody('teams', { ...envelope, type: 'build.deleted', data: { app: DATA.app, build: DATA.build, deletedAt: 'x' } }))
  assert.equal(teams.attachments[0].content.body[0].text, 'Example Bcc: evil@example.test 2.0 (100) was deleted')
  assert.equal(teams.attachments[0].content.actions, undefined)
})

test('backoff doubles from the base, is capped, and jitters between half and all of the nominal delay', () => {
  const policy = { baseMs: 1000, maxMs: 10_000 }
  assert.equal(retryDelayMs(1, policy, () => 0), 500)
  assert.equal(retryDelayMs(1, policy, () => 1), 1000)
  assert.equal(retryDelayMs(3, policy, () => 1), 4000)
  assert.equal(retryDelayMs(10, policy, () => 1), 10_000)
  assert.equal(retryDelayMs(50, policy, () => 0.5), 7500)
  const samples = Array.from({ length: 200 }, () => retryDelayMs(4, policy))
  assert.ok(samples.every((ms) => ms >= 4000 && ms <= 8000))
  assert.ok(new Set(samples).size > 50, 'jittered')
})

test('the secret box opens what it sealed, for the same context and key only', () => {
  const box = createSecretBox(randomBytes(32))
  const sealed = box.seal('whsec_abc', 'webhook-1')
  assert.ok(!sealed.includes('whsec_abc'))
  assert.notEqual(box.seal('whsec_abc', 'webhook-1'), sealed, 'a fresh IV each time')
  assert.equal(box.open(sealed, 'webhook-1'), 'whsec_abc')
  assert.throws(() => box.open(sealed, 'webhook-2'), 'bound to its row')
  assert.throws(() => createSecretBox(randomBytes(32)).open(sealed, 'webhook-1'), 'another key')
  const [v, iv, tag, ct] = sealed.split('.')
  const flipped = Buffer.from(ct!, 'base64url')
  flipped[0]! ^= 1
  assert.throws(() => box.open([v, iv, tag, flipped.toString('base64url')].join('.'), 'webhook-1'), 'tampering detected')
})

test('SSRF policy: private, loopback, link-local, mapped and NAT64 addresses are not public', () => {
  for (const address of ['127.0.0.1', '10.2.3.4', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd12::1', '::ffff:127.0.0.1', '::ffff:8.8.8.8', '64:ff9b::a00:1', 'not-an-ip']) {
    assert.ok(isNonPublicAddress(address), address)
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) assert.ok(!isNonPublicAddress(address), address)
  assert.equal(checkWebhookUrl('https://hooks.slack.com/services/T/B/X', { allowPrivateNetworks: false }), 'https://hooks.slack.com/services/T/B/X')
  for (const url of ['http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:7f00:1]/', 'http://api.localhost/', 'gopher://example.com/']) {
    assert.throws(() => checkWebhookUrl(url, { allowPrivateNetworks: false }), (error) => isAirstripError(error, 'webhook-url-refused'), url)
  }
  assert.equal(checkWebhookUrl('http://127.0.0.1:8080/x', { allowPrivateNetworks: true }), 'http://127.0.0.1:8080/x')
})

test('contact fields: addresses lower-cased, phones to E.164, header tricks refused', () => {
  assert.equal(normalizeEmail(' Jane.Doe@Example.COM '), 'jane.doe@example.com')
  assert.equal(normalizePhone('+44 (20) 7946-0958'), '+442079460958')
  for (const bad of ['jane', 'jane@localhost', 'a@b.c\r\nBcc: x@y.z', '<a@b.c>', 'a@b.c, d@e.f']) assert.throws(() => normalizeEmail(bad), (e) => isAirstripError(e, 'bad-request'), bad)
  for (const bad of ['07946 0958', '+0123456789', '+1 555', 'call me']) assert.throws(() => normalizePhone(bad), (e) => isAirstripError(e, 'bad-request'), bad)
})

test('settings: SMTP URL and SMS presets are checked at start, secrets masked in the summary', async () => {
  const { describeConfig } = await import('../../src/config.ts')
  const config = loadConfig({ smtpUrl: 'smtps://mailer:s3cret@mail.example.com:465', smsProvider: 'twilio', smsAuth: 'AC123:tok3n', smsFrom: '+15005550006', notifyMaxAttempts: '5' })
  assert.deepEqual(config.notify.email, { smtpUrl: 'smtps://mailer:s3cret@mail.example.com:465', from: 'Airstrip <airstrip@localhost>' })
  assert.equal(config.notify.sms?.preset, 'twilio')
  assert.equal(config.notify.sms?.url, 'https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json')
  assert.equal(config.notify.maxAttempts, 5)
  const summary = describeConfig(config)
  assert.ok(summary.includes('smtps://mailer:***@mail.example.com:465'))
  assert.ok(!summary.includes('s3cret') && !summary.includes('tok3n'))
  assert.equal(loadConfig({}).notify.email, null)
  assert.throws(() => loadConfig({ smtpUrl: 'http://mail.example.com' }), /smtpUrl/)
  assert.throws(() => loadConfig({ smsProvider: 'twilio', smsFrom: '+1555' }), /smsAuth/)
  assert.throws(() => loadConfig({ smsProvider: 'json' }), /smsUrl/)
  assert.throws(() => loadConfig({ smsProvider: 'json', smsUrl: 'https://x.example/', smsJsonTemplate: '{"to":"{{to}}"}' }), /\{\{text\}\}/)
  assert.throws(() => loadConfig({ smsProvider: 'pigeon' }), /smsProvider/)
})
