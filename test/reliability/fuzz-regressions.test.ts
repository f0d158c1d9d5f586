// Every input the fuzzer ever flagged (test/fixtures/fuzz-regressions/), replayed
// through the same worker and limits: each must now give a result or a coded error in time.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fixture } from '../support/fixtures.ts'
import { runCampaign } from './fuzz/campaign.ts'
import { TARGETS, type TargetName } from './fuzz/corpus.ts'

const files = readdirSync(fixture('fuzz-regressions', '.')).filter((name) => name.endsWith('.bin')).sort()

test('each fuzz regression is listed in the folder manifest, with a known target', () => {
  const manifest = readFileSync(fixture('fuzz-regressions', 'MANIFEST.md'), 'utf8')
  assert.ok(files.length > 0)
  for (const name of files) {
    assert.ok(manifest.includes(`\`${name}\``), `${name} is missing from MANIFEST.md`)
    assert.ok(TARGETS.some((target) => name.startsWith(`${target}-`)), `${name}: no known target prefix`)
  }
})

test(`fuzz regressions: ${files.length} inputs the fuzzer once flagged end in a result or a coded error, in time`, { timeout: 60_000 }, async () => {
  const inputs = files.map((name) => ({
    target: TARGETS.find((target) => name.startsWith(`${target}-`)) as TargetName,
    bytes: readFileSync(fixture('fuzz-regressions', name)),
    recipe: name,
  }))
  const stats = await runCampaign(inputs)
  assert.equal(stats.inputs, files.length)
  assert.deepEqual(stats.findings.map((f) => `${f.kind}: ${f.recipe}\n${f.detail}`), [])
})
