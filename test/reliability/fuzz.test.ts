// The parsers are the attack surface: a seeded mutation fuzzer over the fixture corpus and
// synthetic archives (test/reliability/fuzz/). Every input must give a result or a coded
// AirstripError within 2 s and bounded memory, in a worker process watched from outside.
// CI runs a bounded number of iterations; `node scripts/fuzz.ts` (npm run fuzz) runs long.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runCampaign, type CampaignStats } from './fuzz/campaign.ts'
import { buildCorpus, TARGETS } from './fuzz/corpus.ts'
import { fuzzInputs } from './fuzz/generator.ts'
import { recordResult } from './support/results.ts'

/** Fixed, so CI is reproducible; AIRSTRIP_FUZZ_SEED / AIRSTRIP_FUZZ_ITERATIONS explore further. */
const SEED = Number(process.env['AIRSTRIP_FUZZ_SEED'] ?? 20261126)
const ITERATIONS = Number(process.env['AIRSTRIP_FUZZ_ITERATIONS'] ?? 1500)

function describeFindings(stats: CampaignStats): string {
  return stats.findings.map((f) => `${f.kind} in ${f.target} (${f.recipe})${f.file ? ` saved as ${f.file}` : ''}\n${f.detail}`).join('\n\n')
}

test('the harness itself: a coded error passes; a crash, an unhandled rejection, a hang and runaway memory are caught', { timeout: 60_000 }, async () => {
  const inputs = ['fine', 'coded', 'crash', 'unhandled', 'hang', 'oom', 'fine'].map((command) => ({ target: 'self-test' as const, bytes: Buffer.from(command), recipe: command }))
  const stats = await runCampaign(inputs, { limits: { timeoutMs: 1000, rssBytes: 512 * 1024 * 1024 } })
  assert.equal(stats.inputs, 7)
  assert.deepEqual(stats.byTarget['self-test'], { runs: 7, ok: 2, codes: { 'invalid-plist': 1 } })
  assert.deepEqual(stats.findings.map((f) => [f.kind, f.recipe]), [['crash', 'crash'], ['unhandled', 'unhandled'], ['hang', 'hang'], ['oom', 'oom']])
  assert.match(stats.findings[0]!.detail, /TypeError: a deliberate uncoded error/)
  // The hang was retried alone before it counted; the worker was replaced after each kill.
  assert.ok(stats.workerStarts >= 4, `worker starts: ${stats.workerStarts}`)
})

test(`fuzz: ${ITERATIONS} mutated inputs (seed ${SEED}) plus every seed of the corpus`, { timeout: 240_000 }, async () => {
  const corpus = await buildCorpus()
  const stats = await runCampaign(fuzzInputs(corpus, SEED, ITERATIONS))
  assert.equal(stats.findings.length, 0, `findings (replay with: node scripts/fuzz.ts --seed ${SEED} --iterations ${ITERATIONS}):\n${describeFindings(stats)}`)
  assert.equal(stats.inputs, corpus.seeds.length + ITERATIONS)
  // Each parser got its share, and the mutations reached both outcomes (not everything refused at the door).
  for (const target of TARGETS) assert.ok((stats.byTarget[target]?.runs ?? 0) >= ITERATIONS / 50, `${target}: ${JSON.stringify(stats.byTarget[target])}`)
  const ipa = stats.byTarget.ipa!
  assert.ok(ipa.ok > ipa.runs / 10 && Object.keys(ipa.codes).length >= 5, `ipa outcomes: ${JSON.stringify(ipa)}`)
  recordResult('fuzz-ci', { seed: SEED, iterations: ITERATIONS, corpusSeeds: corpus.seeds.length, corpusBytes: corpus.seeds.reduce((n, s) => n + s.bytes.length, 0), ...stats })
})
