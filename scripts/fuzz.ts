/**
 * The long fuzz run (`npm run fuzz`): the same seeded mutation loop as test/reliability/fuzz.test.ts,
 * for as long as asked. Every finding is written to test/fixtures/fuzz-regressions/ (the regression
 * test replays that folder) with the command that regenerates it.
 *
 *   node scripts/fuzz.ts                       # 30 minutes, random seed (printed)
 *   node scripts/fuzz.ts --minutes 120 --seed 7
 *   node scripts/fuzz.ts --iterations 50000 --seed 7 --from 0
 *   node scripts/fuzz.ts --seed 7 --from 1234 --iterations 1   # regenerate one input
 *   node scripts/fuzz.ts --record docs/reliability-results      # also write fuzz-long.json there
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runCampaign } from '../test/reliability/fuzz/campaign.ts'
import { buildCorpus } from '../test/reliability/fuzz/corpus.ts'
import { fuzzInputs } from '../test/reliability/fuzz/generator.ts'
import { recordResult } from '../test/reliability/support/results.ts'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    minutes: { type: 'string' },
    iterations: { type: 'string' },
    from: { type: 'string', default: '0' },
    findings: { type: 'string', default: join(ROOT, 'test/fixtures/fuzz-regressions') },
    record: { type: 'string' },
  },
})
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
const iterations = values.iterations === undefined ? Number.MAX_SAFE_INTEGER : Number(values.iterations)
const minutes = values.minutes === undefined ? (values.iterations === undefined ? 30 : Infinity) : Number(values.minutes)
const from = Number(values.from)

console.log(`fuzz: seed ${seed}, ${Number.isFinite(minutes) ? `${minutes} min` : 'no time limit'}${iterations < Number.MAX_SAFE_INTEGER ? `, ${iterations} iterations from ${from}` : ''}; findings → ${values.findings}`)
const corpus = await buildCorpus()
console.log(`corpus: ${corpus.seeds.length} seeds (${(corpus.seeds.reduce((n, s) => n + s.bytes.length, 0) / 2 ** 20).toFixed(1)} MiB)`)
const started = Date.now()
let lastReport = Date.now()
const stats = await runCampaign(fuzzInputs(corpus, seed, iterations, { seeds: from === 0, from }), {
  findingsDir: values.findings,
  ...(Number.isFinite(minutes) ? { deadlineMs: minutes * 60_000 } : {}),
  onProgress: (s) => {
    if (Date.now() - lastReport < 10_000) return
    lastReport = Date.now()
    console.log(`  ${s.inputs} inputs, ${(s.inputs / ((Date.now() - started) / 1000)).toFixed(0)}/s, ${s.findings.length} findings, slowest ${s.maxMs.toFixed(0)} ms, worker RSS ≤ ${(s.maxRssBytes / 2 ** 20).toFixed(0)} MiB`)
  },
})

for (const finding of stats.findings) {
  console.log(`\n${finding.kind.toUpperCase()} in ${finding.target}: ${finding.recipe}\n  saved: ${finding.file}\n  ${finding.detail.split('\n').slice(0, 12).join('\n  ')}`)
}
console.log(`\n${stats.inputs} inputs in ${(stats.durationMs / 1000).toFixed(0)} s, ${stats.findings.length} findings, slowest ${stats.maxMs.toFixed(0)} ms, worker RSS ≤ ${(stats.maxRssBytes / 2 ** 20).toFixed(0)} MiB, ${stats.workerStarts} worker start(s)`)
if (values.record) recordResult('fuzz-long', { seed, corpusSeeds: corpus.seeds.length, corpusBytes: corpus.seeds.reduce((n, s) => n + s.bytes.length, 0), ...stats }, values.record)
process.exitCode = stats.findings.length > 0 ? 1 : 0
