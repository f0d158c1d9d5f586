/**
 * XML plist benchmark: `parsePlist` (saxes, streaming) against the DOM path it replaced
 * (@xmldom/xmldom, kept below as `parseWithDom`), on synthetic XML plists of a few sizes up to the
 * 16 MiB cap (`LIMITS.plistBytes`). Two shapes: `strings` (one array of short strings, the worst
 * case per byte) and `dict` (key/string pairs, like a large Info.plist or profile).
 *
 * Every measurement runs in a fresh child process (this script with --child) so the peak RSS is
 * that parser's alone; runs are interleaved and the median is reported. A benchmark prints
 * figures: it never fails on them.
 *
 * Usage: node bench/plist.ts [--sizes 0.1,2.5,15] [--shapes strings,dict] [--runs 3]
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { DOMParser } from '@xmldom/xmldom'
import type { Element, Node } from '@xmldom/xmldom'
import { LIMITS } from '../src/ipa/limits.ts'
import { parsePlist } from '../src/ipa/plist.ts'
import type { PlistDict, PlistValue } from '../src/ipa/types.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const WORK = join(HERE, '.work', 'plist')
const MiB = 1024 * 1024
const RESULT_PREFIX = 'RESULT '

type Parser = 'dom' | 'sax'
type Shape = 'strings' | 'dict'

interface ChildResult {
  ms: number
  cpuMs: number
  /** RSS once the file was read, before parsing, and the peak of the whole process, in MiB. */
  rssBeforeMiB: number
  peakRssMiB: number
  /** Enough of the value to see that both parsers read the same thing. */
  summary: string
}

// ---- the DOM path as it was before saxes (src/ipa/plist.ts), for the baseline ----------------

const ELEMENT_NODE = 1
const TEXT_NODE = 3
const CDATA_SECTION_NODE = 4

function parseWithDom(bytes: Uint8Array): PlistValue {
  const fail = (message: string): Error => new Error(`property list: ${message}`)
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^[ \t\r\n]+/, '')
  if (/<!ENTITY/i.test(text)) throw fail('entity declarations are not allowed')
  let firstError: string | null = null
  const parser = new DOMParser({
    onError: (level, message) => {
      firstError ??= `malformed XML (${level}: ${message.trim()})`
      throw new Error(firstError)
    },
  })
  const root = parser.parseFromString(text, 'text/xml').documentElement
  if (root?.nodeName !== 'plist') throw fail('root element is not <plist>')
  const children = elementChildren(root, fail)
  if (children.length !== 1) throw fail(`<plist> must hold exactly one value, found ${children.length}`)
  let produced = 0

  function value(node: Element, depth: number): PlistValue {
    if (++produced > LIMITS.plistObjects) throw fail(`holds more than ${LIMITS.plistObjects} values`)
    const name = node.nodeName
    switch (name) {
      case 'dict': {
        if (depth >= LIMITS.plistDepth) throw fail(`nested deeper than ${LIMITS.plistDepth} levels`)
        const items = elementChildren(node, fail)
        if (items.length % 2 !== 0) throw fail('<dict> has a key without a value')
        const dict: PlistDict = {}
        for (let i = 0; i < items.length; i += 2) {
          const keyNode = items[i]!
          if (keyNode.nodeName !== 'key') throw fail(`<dict> expected <key>, found <${keyNode.nodeName}>`)
          const key = textOf(keyNode, fail)
          if (key === '__proto__') throw fail('the key "__proto__" is not allowed')
          dict[key] = value(items[i + 1]!, depth + 1)
        }
        return dict
      }
      case 'array':
        if (depth >= LIMITS.plistDepth) throw fail(`nested deeper than ${LIMITS.plistDepth} levels`)
        return elementChildren(node, fail).map((child) => value(child, depth + 1))
      case 'string':
        return textOf(node, fail)
      case 'integer': {
        const digits = textOf(node, fail).trim()
        const big = BigInt(digits)
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
      }
      case 'real':
        return Number(textOf(node, fail).trim())
      case 'date':
        return new Date(textOf(node, fail).trim())
      case 'data':
        return new Uint8Array(Buffer.from(textOf(node, fail).replace(/\s+/g, ''), 'base64'))
      case 'true':
      case 'false':
        if (textOf(node, fail).trim() !== '') throw fail(`<${name}> must be empty`)
        return name === 'true'
      default:
        throw fail(`unknown element <${name}>`)
    }
  }
  return value(children[0]!, 0)
}

function elementChildren(node: Element, fail: (message: string) => Error): Element[] {
  const result: Element[] = []
  for (let child: Node | null = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === ELEMENT_NODE) result.push(child as Element)
    else if ((child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE) && (child.nodeValue ?? '').trim() !== '') {
      throw fail(`unexpected text inside <${node.nodeName}>`)
    }
  }
  return result
}

function textOf(node: Element, fail: (message: string) => Error): string {
  let text = ''
  for (let child: Node | null = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE) text += child.nodeValue ?? ''
    else if (child.nodeType === ELEMENT_NODE) throw fail(`unexpected <${child.nodeName}> inside <${node.nodeName}>`)
  }
  return text
}

// ---- inputs -----------------------------------------------------------------------------------

/** A well-formed XML plist of about `bytes` bytes (entities and a CDATA section included). */
function generate(shape: Shape, bytes: number): Buffer {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n'
  const parts: string[] = [head, shape === 'dict' ? '<dict>\n' : '<array>\n']
  let size = head.length
  for (let i = 0; size < bytes - 64; i++) {
    const n = String(i).padStart(7, '0')
    const entry =
      shape === 'dict'
        ? `\t<key>key-${n}</key>\n\t<string>value ${n} &amp; more</string>\n`
        : i % 100 === 0 ? `\t<string><![CDATA[item <${n}>]]></string>\n` : `\t<string>item ${n}</string>\n`
    parts.push(entry)
    size += entry.length
  }
  parts.push(shape === 'dict' ? '</dict>\n</plist>\n' : '</array>\n</plist>\n')
  return Buffer.from(parts.join(''))
}

function summarize(value: PlistValue): string {
  if (Array.isArray(value)) return `array of ${value.length}, last ${JSON.stringify(value.at(-1))}`
  const keys = Object.keys(value as PlistDict)
  return `dict of ${keys.length}, last ${JSON.stringify((value as PlistDict)[keys.at(-1) ?? ''])}`
}

// ---- child: one measured parse ----------------------------------------------------------------

function child(parser: Parser, file: string): void {
  const bytes = readFileSync(file)
  const rssBefore = process.memoryUsage().rss
  const cpu = process.cpuUsage()
  const started = performance.now()
  const value = parser === 'dom' ? parseWithDom(bytes) : parsePlist(bytes)
  const ms = performance.now() - started
  const used = process.cpuUsage(cpu)
  const result: ChildResult = {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    rssBeforeMiB: rssBefore / MiB,
    peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
    summary: summarize(value),
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
}

function measure(parser: Parser, file: string): ChildResult | string {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', parser, file], { encoding: 'utf8', timeout: 120_000 })
  const line = run.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
  if (run.status !== 0 || !line) return `failed (${run.signal ?? run.status}): ${run.stderr.trim().split('\n').at(-1) ?? ''}`
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const fixed = (value: number, digits = 0): string => value.toFixed(digits)

function main(): void {
  const { values: args } = parseArgs({
    options: {
      child: { type: 'string' },
      sizes: { type: 'string', default: '0.1,2.5,15' },
      shapes: { type: 'string', default: 'strings,dict' },
      runs: { type: 'string', default: '3' },
    },
    allowPositionals: true,
  })
  if (args.child) {
    const file = process.argv.at(-1)!
    child(args.child as Parser, file)
    return
  }
  const runs = Math.max(1, Number(args.runs))
  const shapes = args.shapes.split(',').filter((s): s is Shape => s === 'strings' || s === 'dict')
  mkdirSync(WORK, { recursive: true })
  console.log(`XML plist parsing, ${runs} run(s) per cell in fresh processes (median); peak RSS is the whole child's (Node itself ~40-60 MiB)\n`)
  console.log('| shape | size | DOM (xmldom): time / CPU / peak RSS (+growth) | SAX (saxes): time / CPU / peak RSS (+growth) | ratio time / RSS growth | same value |')
  console.log('|---|---|---|---|---|---|')
  for (const shape of shapes) {
    for (const sizeMiB of args.sizes.split(',').map(Number)) {
      const file = join(WORK, `${shape}-${sizeMiB}M.plist`)
      if (!existsSync(file)) writeFileSync(file, generate(shape, Math.min(LIMITS.plistBytes, Math.round(sizeMiB * MiB))))
      const samples: Record<Parser, ChildResult[]> = { dom: [], sax: [] }
      const failures: Record<Parser, string | null> = { dom: null, sax: null }
      for (let run = 0; run < runs; run++) {
        for (const parser of ['dom', 'sax'] as const) {
          const result = measure(parser, file)
          if (typeof result === 'string') failures[parser] = result
          else samples[parser].push(result)
        }
      }
      const cell = (parser: Parser): { text: string; ms: number; growth: number } => {
        const list = samples[parser]
        if (list.length === 0) return { text: failures[parser] ?? 'no result', ms: NaN, growth: NaN }
        const ms = median(list.map((r) => r.ms))
        const peak = median(list.map((r) => r.peakRssMiB))
        const growth = median(list.map((r) => r.peakRssMiB - r.rssBeforeMiB))
        return { text: `${fixed(ms)} ms / ${fixed(median(list.map((r) => r.cpuMs)))} ms / ${fixed(peak)} MiB (+${fixed(growth)})`, ms, growth }
      }
      const dom = cell('dom')
      const sax = cell('sax')
      const same = samples.dom[0] && samples.sax[0] ? (samples.dom[0].summary === samples.sax[0].summary ? 'yes' : `NO: ${samples.dom[0].summary} / ${samples.sax[0].summary}`) : '-'
      const size = `${(readFileSync(file).length / MiB).toFixed(2)} MiB`
      console.log(`| ${shape} | ${size} | ${dom.text} | ${sax.text} | ${fixed(dom.ms / sax.ms, 1)}× / ${fixed(dom.growth / Math.max(sax.growth, 1), 1)}× | ${same} |`)
    }
  }
}

main()
