// Label helpers used by the install page.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compareVersions, dateLabel, relativeTime, sizeLabel, versionLabel } from '../../src/ota/install-labels.ts'

test('versionLabel', () => {
  assert.equal(versionLabel('1.2.3', '45'), '1.2.3 (45)')
  assert.equal(versionLabel('1.2.3', '1.2.3'), '1.2.3')
  assert.equal(versionLabel('1.2.3', null), '1.2.3')
  assert.equal(versionLabel(null, '45'), '45')
  assert.equal(versionLabel(null, null), 'unknown version')
})

test('sizeLabel uses decimal units like iOS', () => {
  const cases: Array<[number, string]> = [[0, '0 bytes'], [999, '999 bytes'], [1000, '1 KB'], [12_345, '12.3 KB'], [999_499, '999 KB'], [999_600, '1 MB'], [12_345_678, '12.3 MB'], [250_000_000, '250 MB'], [4_000_000_000, '4 GB']]
  for (const [bytes, label] of cases) assert.equal(sizeLabel(bytes), label, String(bytes))
})

test('dateLabel and relativeTime are locale-free and use the injected clock', () => {
  assert.equal(dateLabel('2026-01-05T07:04:00Z'), '5 Jan 2026, 07:04 UTC')
  assert.equal(dateLabel('not a date'), 'not a date')
  const now = new Date('2026-11-26T12:00:00Z')
  assert.equal(relativeTime('2026-11-26T11:59:30Z', now), 'just now')
  assert.equal(relativeTime('2026-11-26T11:59:00Z', now), '1 minute ago')
  assert.equal(relativeTime('2026-11-26T07:00:00Z', now), '5 hours ago')
  assert.equal(relativeTime('2026-11-23T12:00:00Z', now), '3 days ago')
  assert.equal(relativeTime('2025-11-01T12:00:00Z', now), '1 year ago')
  assert.equal(relativeTime('2026-11-28T12:00:00Z', now), 'in 2 days')
})

test('compareVersions is numeric and pads missing parts', () => {
  assert.equal(compareVersions('14', '14.0'), 0)
  assert.equal(compareVersions('14.0.0', '14'), 0)
  assert.equal(compareVersions('9.3', '10'), -1)
  assert.equal(compareVersions('17.4.1', '17.4'), 1)
  assert.equal(compareVersions('17.10', '17.9'), 1)
})
