// The pure parts of `airstrip upload`: the upload URL, progress figures and when log lines are due.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatProgressLine } from '../../src/cli/upload.ts'
import { NOTES_QUERY_BUDGET, uploadUrl } from '../../src/delivery/upload-client.ts'
import { createLineSchedule, progressSnapshot } from '../../src/delivery/upload-progress.ts'
import { isAirstripError } from '../../src/errors.ts'

const MiB = 1024 * 1024

test('the upload URL keeps the server path prefix and encodes notes, file name and notify', () => {
  const url = uploadUrl('https://ota.example.com/team', { file: '/ci/out/My App.ipa', notes: 'Fix & ship: 100% ✓', notify: true })
  assert.equal(url.origin + url.pathname, 'https://ota.example.com/team/api/v1/builds')
  assert.equal(url.searchParams.get('fileName'), 'My App.ipa')
  assert.equal(url.searchParams.get('notes'), 'Fix & ship: 100% ✓')
  assert.equal(url.searchParams.get('notify'), 'true')
  const plain = uploadUrl('https://ota.example.com/', { file: 'a.ipa', notes: null, notify: false })
  assert.equal(plain.href, 'https://ota.example.com/api/v1/builds?fileName=a.ipa')
})

test('server URLs with credentials, queries or other schemes, and notes too long for a query, are refused', () => {
  for (const bad of ['ftp://ota.example.com', 'https://u:p@ota.example.com', 'https://ota.example.com/?x=1', 'ota.example.com']) {
    assert.throws(() => uploadUrl(bad, { file: 'a.ipa', notes: null, notify: false }), (error) => isAirstripError(error, 'bad-request'), bad)
  }
  assert.ok(uploadUrl('https://ota.example.com', { file: 'a.ipa', notes: 'x'.repeat(NOTES_QUERY_BUDGET - 100), notify: false }))
  assert.throws(() => uploadUrl('https://ota.example.com', { file: 'a.ipa', notes: 'é'.repeat(NOTES_QUERY_BUDGET / 4), notify: false }), /too long/)
})

test('progress: percent, average rate and ETA', () => {
  assert.deepEqual(progressSnapshot(0, 100 * MiB, 0), { sent: 0, total: 100 * MiB, percent: 0, bytesPerSecond: null, etaSeconds: null })
  const quarter = progressSnapshot(25 * MiB, 100 * MiB, 2000)
  assert.equal(quarter.percent, 25)
  assert.equal(quarter.bytesPerSecond, 12.5 * MiB)
  assert.equal(quarter.etaSeconds, 6)
  assert.equal(progressSnapshot(100 * MiB - 1, 100 * MiB, 1000).percent, 99, '100 % only when every byte is sent')
  assert.equal(progressSnapshot(100 * MiB, 100 * MiB, 8000).percent, 100)
  assert.equal(formatProgressLine(quarter), '   25%  25.0 MiB of 100.0 MiB  12.5 MiB/s  ETA 0:06')
  assert.equal(formatProgressLine(progressSnapshot(3 * 1024 * MiB, 4 * 1024 * MiB, 1000 * 1000)), '   75%  3.0 GiB of 4.0 GiB  3.1 MiB/s  ETA 5:34')
  assert.equal(formatProgressLine(progressSnapshot(MiB, 4 * 1024 * MiB, 10_000)), '    0%  1.0 MiB of 4.0 GiB  102.4 KiB/s  ETA 11:22:30')
  assert.equal(formatProgressLine(progressSnapshot(2 * MiB, 2 * MiB, 1000)), '  100%  2.0 MiB of 2.0 MiB  2.0 MiB/s  sent')
})

test('log lines: one per 10 % step, one after 30 s of silence, always the last', () => {
  const due = createLineSchedule()
  const total = 1000
  const printed: number[] = []
  for (let sent = 1; sent <= total; sent += 7) if (due(progressSnapshot(sent, total, 1), 0)) printed.push(progressSnapshot(sent, total, 1).percent)
  if (due(progressSnapshot(total, total, 1), 0)) printed.push(100)
  assert.deepEqual(printed, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])

  const slow = createLineSchedule()
  assert.equal(slow(progressSnapshot(1, total, 1), 0), false)
  assert.equal(slow(progressSnapshot(2, total, 1), 29_999), false)
  assert.equal(slow(progressSnapshot(3, total, 1), 30_000), true)
  assert.equal(slow(progressSnapshot(4, total, 1), 31_000), false)
})
