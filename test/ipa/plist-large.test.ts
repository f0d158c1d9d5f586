// XML plists near the 16 MiB cap: each parses, or is refused with a coded error, without the
// process growing by several times the input (the DOM parser used before took ~1 GiB for 15 MiB).
// Memory, not time, is asserted: bench/plist.ts measures the speed.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isAirstripError } from '../../src/errors.ts'
import { LIMITS } from '../../src/ipa/limits.ts'
import { parsePlist } from '../../src/ipa/plist.ts'
import type { PlistDict, PlistValue } from '../../src/ipa/types.ts'

const MiB = 1024 * 1024
const TARGET_BYTES = 15 * MiB
const GROWTH_BOUND_MiB = 200
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n'

/** `open` + as many `entry(i)` as fit in TARGET_BYTES + `close`, inside the plist envelope. */
function document(open: string, entry: (i: number) => string, close: string): { bytes: Buffer; count: number } {
  const parts = [HEAD, open]
  let size = HEAD.length + open.length + close.length + 10
  let count = 0
  for (; ; count++) {
    const next = entry(count)
    if (size + next.length > TARGET_BYTES) break
    parts.push(next)
    size += next.length
  }
  parts.push(close, '</plist>\n')
  const bytes = Buffer.from(parts.join(''))
  assert.ok(bytes.length <= LIMITS.plistBytes && bytes.length > TARGET_BYTES - 1024, `fixture is ${bytes.length} bytes`)
  return { bytes, count }
}

/**
 * Runs `parse` and returns its outcome with the process's RSS growth in MiB: the larger of the RSS
 * right after (result still alive) and the peak RSS if it rose during the call, minus the RSS before.
 */
function measured(bytes: Buffer): { value: PlistValue | undefined; error: unknown; growthMiB: number } {
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  const peakBefore = process.resourceUsage().maxRSS * 1024
  let value: PlistValue | undefined
  let error: unknown = null
  try {
    value = parsePlist(bytes)
  } catch (caught) {
    error = caught
  }
  const after = process.memoryUsage().rss
  const peakAfter = process.resourceUsage().maxRSS * 1024
  const highest = Math.max(after, peakAfter > peakBefore ? peakAfter : 0)
  return { value, error, growthMiB: (highest - before) / MiB }
}

describe('parsePlist: XML near the size cap', () => {
  it(`reads a ~15 MiB array of strings (entities and CDATA included) with RSS growth under ${GROWTH_BOUND_MiB} MiB`, () => {
    const { bytes, count } = document(
      '<array>\n',
      (i) => (i % 100 === 0 ? `\t<string><![CDATA[<item ${i}>]]></string>\n` : `\t<string>item ${i} &amp; co</string>\n`),
      '</array>\n',
    )
    const { value, error, growthMiB } = measured(bytes)
    assert.equal(error, null)
    assert.ok(Array.isArray(value))
    assert.equal(value.length, count)
    assert.ok(count > 400_000, `only ${count} strings`)
    assert.deepEqual([value[0], value[1], value[100], value[count - 1]], ['<item 0>', 'item 1 & co', '<item 100>', (count - 1) % 100 === 0 ? `<item ${count - 1}>` : `item ${count - 1} & co`])
    assert.ok(growthMiB < GROWTH_BOUND_MiB, `RSS grew by ${growthMiB.toFixed(0)} MiB for ${(bytes.length / MiB).toFixed(1)} MiB of XML`)
  })

  it(`reads a ~15 MiB dictionary with RSS growth under ${GROWTH_BOUND_MiB} MiB`, () => {
    const { bytes, count } = document('<dict>\n', (i) => `\t<key>key-${i}</key>\n\t<integer>${i}</integer>\n`, '</dict>\n')
    const { value, error, growthMiB } = measured(bytes)
    assert.equal(error, null)
    const dict = value as PlistDict
    assert.equal(Object.keys(dict).length, count)
    assert.equal(dict['key-0'], 0)
    assert.equal(dict[`key-${count - 1}`], count - 1)
    assert.ok(growthMiB < GROWTH_BOUND_MiB, `RSS grew by ${growthMiB.toFixed(0)} MiB for ${(bytes.length / MiB).toFixed(1)} MiB of XML`)
  })

  it('refuses ~15 MiB of tiny values past LIMITS.plistObjects cleanly, with bounded RSS growth', () => {
    const { bytes, count } = document('<array>', () => '<true/>', '</array>')
    assert.ok(count > LIMITS.plistObjects)
    const { error, growthMiB } = measured(bytes)
    assert.ok(isAirstripError(error, 'invalid-plist'), String(error))
    assert.match(error.message, /holds more than 1000000 values/)
    assert.ok(growthMiB < GROWTH_BOUND_MiB, `RSS grew by ${growthMiB.toFixed(0)} MiB`)
  })

  it('refuses ~15 MiB of nested arrays at the depth limit, and accepts a string of raw control characters', () => {
    const deep = document('', () => '<array>', '')
    const refused = measured(deep.bytes)
    assert.ok(isAirstripError(refused.error, 'invalid-plist'), String(refused.error))
    assert.match(refused.error.message, /nested deeper than 512 levels/)
    assert.ok(refused.growthMiB < GROWTH_BOUND_MiB, `RSS grew by ${refused.growthMiB.toFixed(0)} MiB`)

    // Apple's writer leaves control characters unescaped; each one is a (tolerated) XML error.
    const controls = document('<string>', () => '\u0001\u0002', '</string>')
    const read = measured(controls.bytes)
    assert.equal(read.error, null)
    assert.equal(read.value, '\u0001\u0002'.repeat(controls.count))
    assert.ok(read.growthMiB < GROWTH_BOUND_MiB, `RSS grew by ${read.growthMiB.toFixed(0)} MiB`)
  })

  it('names a bare "&" precisely even when it swallows the rest of a ~15 MiB document', () => {
    const { bytes } = document('<array>', (i) => (i === 3 ? '<string>Tom & Jerry</string>' : '<string>x</string>'), '</array>')
    const { error, growthMiB } = measured(bytes)
    assert.ok(isAirstripError(error, 'invalid-plist'), String(error))
    assert.match(error.message, /malformed XML \(unescaped "&" at line 4, column 74: write &amp;\)/)
    assert.ok(growthMiB < GROWTH_BOUND_MiB, `RSS grew by ${growthMiB.toFixed(0)} MiB`)
  })
})
