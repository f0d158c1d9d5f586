/**
 * Summarises a V8 .cpuprofile (as written by `npm run bench:serve -- --profile`, which runs the
 * Airstrip child with --cpu-prof): the functions with the most self time and the most inclusive
 * time, in ms and as a share of the profile.
 *
 * Usage: node bench/serve-profile.ts <file.cpuprofile> [--top 30]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } })
if (positionals.length !== 1) throw new Error('usage: node bench/serve-profile.ts <file.cpuprofile> [--top 30]')
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile
const top = Math.max(1, Number(values.top))

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parentOf = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/').replace(/^node:/, '')
  return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim()
}

// Microseconds of samples per node, then folded by label (self) and up the stack (inclusive, once per stack).
const selfUs = new Map<number, number>()
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = profile.timeDeltas.reduce((sum, dt) => sum + dt, 0)
const self = new Map<string, number>()
const inclusive = new Map<string, number>()
for (const [id, us] of selfUs) {
  const node = byId.get(id)!
  self.set(label(node), (self.get(label(node)) ?? 0) + us)
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const name = label(byId.get(at)!)
    if (seen.has(name)) continue
    seen.add(name)
    inclusive.set(name, (inclusive.get(name) ?? 0) + us)
  }
}

const print = (title: string, table: Map<string, number>): void => {
  console.log(`${title} (profile ${(total / 1e6).toFixed(2)} s)`)
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`)
  }
}
print('self time', self)
console.log()
print('inclusive time', inclusive)
