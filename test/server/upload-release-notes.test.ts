// Release notes given at upload follow the same rule as edited notes (parseReleaseNotes): over
// real HTTPS, through the API (query string and multipart field) and the admin web upload.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { csrfTokenFor } from '../../src/accounts/secrets.ts'
import { fixture } from '../support/fixtures.ts'
import { startServer, type HttpResponse, type TestServer } from '../support/server.ts'

const IPA = fixture('ipa', 'appinfo-iphone.ipa')
const BOUNDARY = '----airstrip-notes-boundary'
const PASSWORD = 'correct horse battery'

/** A multipart body of text fields and the .ipa, in the given order ('file' marks where the file goes). */
function multipart(parts: Array<[string, string] | 'file'>): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) {
    if (part === 'file') {
      chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="AppInfo.ipa"\r\nContent-Type: application/octet-stream\r\n\r\n`), readFileSync(IPA), Buffer.from('\r\n'))
    } else {
      chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part[0]}"\r\n\r\n${part[1]}\r\n`))
    }
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`))
  return Buffer.concat(chunks)
}

function apiMultipart(server: TestServer, parts: Array<[string, string] | 'file'>): Promise<HttpResponse> {
  return server.request(`${server.url}/api/v1/builds`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipart(parts),
  })
}

/** Every file under the blob store (staging temp files included) and every build record. */
async function stored(server: TestServer): Promise<{ files: string[]; builds: number }> {
  const walk = (dir: string): string[] => {
    try {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    } catch {
      return []
    }
  }
  const { builds } = await server.app.services.meta.listBuilds({ limit: 200 })
  return { files: walk(join(server.dataDir, 'blobs')), builds: builds.length }
}

function assertRefused(response: HttpResponse, status: number, code: string, what: string): void {
  assert.equal(response.status, status, `${what}: ${response.text().slice(0, 300)}`)
  assert.equal(response.json().error, code, what)
}

test('API upload: control characters refused with 422, over 20,000 characters 413, nothing stored', async (t) => {
  const server = await startServer(t)
  assertRefused(await server.upload(IPA, { notes: 'before\u0000after' }), 422, 'invalid-release-notes', 'NUL in ?notes (raw body)')
  assertRefused(await server.upload(IPA, { notes: 'bell\u0007' }), 422, 'invalid-release-notes', 'BEL in ?notes')
  assertRefused(await apiMultipart(server, [['notes', 'escape \u001b[31m red'], 'file']), 422, 'invalid-release-notes', 'ESC in the notes field before the file')
  assertRefused(await apiMultipart(server, ['file', ['notes', 'after\u0000the file']]), 422, 'invalid-release-notes', 'NUL in the notes field after the file (already staged)')
  assertRefused(await apiMultipart(server, [['notes', 'x'.repeat(20_001)], 'file']), 413, 'release-notes-too-long', '20,001 characters')
  assertRefused(await apiMultipart(server, ['file', ['notes', 'é'.repeat(20_001)]]), 413, 'release-notes-too-long', '20,001 two-byte characters after the file')
  assertRefused(await apiMultipart(server, [['notes', 'x'.repeat(70_000)], 'file']), 413, 'release-notes-too-long', 'over the field size cap (truncated)')
  assert.deepEqual(await stored(server), { files: [], builds: 0 }, 'no blob, no staging file, no build')

  const exactly = await apiMultipart(server, [['notes', 'y'.repeat(20_000)], 'file'])
  assert.equal(exactly.status, 201, exactly.text().slice(0, 300))
  assert.equal(exactly.json().notes.length, 20_000, '20,000 characters are accepted')
})

test('API upload: CRLF and lone CR are stored as LF, ends trimmed, blank means no notes', async (t) => {
  const server = await startServer(t)
  const viaQuery = await server.upload(IPA, { notes: '  Line one\r\nLine two\rLine three\r\n' })
  assert.equal(viaQuery.status, 201, viaQuery.text())
  assert.equal(viaQuery.json().notes, 'Line one\nLine two\nLine three')
  assert.equal((await server.app.services.meta.getBuild(viaQuery.json().id))?.notes, 'Line one\nLine two\nLine three', 'stored with LF')

  const viaField = await apiMultipart(server, [['notes', '- Fixed\r\n- Faster\tsync'], 'file'])
  assert.equal(viaField.status, 201, viaField.text())
  assert.equal((await server.app.services.meta.getBuild(viaField.json().id))?.notes, '- Fixed\n- Faster\tsync', 'tab kept, CRLF → LF')

  const blank = await server.upload(IPA, { notes: ' \r\n ' })
  assert.equal(blank.status, 201)
  assert.equal(blank.json().notes, null)
})

test('admin web upload: the same rule — 422 for a NUL, 413 over the cap, nothing stored; CRLF stored as LF', async (t) => {
  const server = await startServer(t)
  await server.app.services.accounts.createUser({ email: 'dev@example.com', name: 'Dev', role: 'admin', password: PASSWORD })
  const session = await server.app.services.accounts.login({ email: 'dev@example.com', password: PASSWORD, clientAddress: '127.0.0.1' })
  const upload = (notes: string) =>
    server.request(`${server.url}/admin/upload`, {
      method: 'POST',
      headers: { cookie: `__Host-airstrip-session=${session.id}`, accept: 'application/json', 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body: multipart([['_csrf', csrfTokenFor(session.id)], ['notes', notes], 'file']),
    })

  assertRefused(await upload('before\u0000after'), 422, 'invalid-release-notes', 'NUL')
  assertRefused(await upload('x'.repeat(20_001)), 413, 'release-notes-too-long', '20,001 characters')
  assert.deepEqual(await stored(server), { files: [], builds: 0 }, 'nothing stored')

  const saved = await upload('Line one\r\nLine two\r\n')
  assert.equal(saved.status, 201, saved.text())
  assert.equal((await server.app.services.meta.getBuild(saved.json().id))?.notes, 'Line one\nLine two')
})
