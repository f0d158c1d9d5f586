import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { describe, it } from 'node:test'
import { build } from 'plist'
import { isAirstripError } from '../../src/errors.ts'
import type { ErrorCode } from '../../src/errors.ts'
import { LIMITS } from '../../src/ipa/limits.ts'
import { parsePlist, parsePlistDict } from '../../src/ipa/plist.ts'
import type { PlistDict, PlistValue } from '../../src/ipa/types.ts'
import { encodeBinaryPlist, patchTrailer, toBinaryPlist } from '../support/bplist-writer.ts'
import type { BplistObject } from '../support/bplist-writer.ts'

const FIXTURES = new URL('../fixtures/mobileprovision/', import.meta.url)
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
const xml = (body: string): Uint8Array =>
  utf8(`<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">${body}</plist>\n`)

/** Asserts the input is refused with `code` (message matching `pattern`), quickly. */
function assertRefused(bytes: Uint8Array, pattern: RegExp, code: ErrorCode = 'invalid-plist', budgetMs = 1000): void {
  const started = performance.now()
  assert.throws(
    () => parsePlist(bytes),
    (error: unknown) => {
      assert.ok(isAirstripError(error, code), `expected ${code}, got ${String(error)}`)
      assert.match(error.message, pattern)
      return true
    },
  )
  assert.ok(performance.now() - started < budgetMs, `refusal should take less than ${budgetMs} ms`)
}

/** One dict exercising every type, written by hand (the expectation is this literal, not parser output). */
const SAMPLE: PlistDict = {
  ascii: 'hello',
  unicode: 'Grüße, 東京 😀',
  empty: '',
  zero: 0,
  small: 200,
  medium: 65_535,
  large: 4_000_000_000,
  negative: -42,
  int64: -(2 ** 40),
  beyondSafe: 2n ** 53n + 1n,
  int64Min: -(2n ** 63n),
  uint64Max: 2n ** 64n - 1n,
  real: 3.25,
  negativeReal: -0.5,
  yes: true,
  no: false,
  created: new Date('2020-07-21T08:44:54Z'),
  beforeEpoch: new Date('1999-12-31T23:59:59Z'),
  blob: new Uint8Array([0, 1, 2, 253, 254, 255]),
  emptyBlob: new Uint8Array(0),
  list: ['a', 1, ['nested', { deep: true }], {}],
  emptyList: [],
  dict: { 'key with spaces': 'v', 'CF$UID-lookalike': 'x', uid: { CF$UID: 7 } },
  longString: 'x'.repeat(300),
  longList: Array.from({ length: 40 }, (_, i) => i * 1000),
}

describe('parsePlist: XML', () => {
  it('reads XML written by the plist package back to the same values', () => {
    const bytes = utf8(build(SAMPLE as Parameters<typeof build>[0]))
    assert.deepEqual(parsePlist(bytes), SAMPLE)
  })

  it('handles a BOM, comments, CDATA, entities, hex integers and special reals', () => {
    const text = `\uFEFF<?xml version="1.0"?>\n<plist version="1.0"><!-- c --><dict>
      <key>a&amp;b</key><string>x &lt; y &#x263A; <![CDATA[<raw>]]></string>
      <key>hex</key><integer>0x1F</integer>
      <key>plus</key><integer>+5</integer>
      <key>nan</key><real>nan</real>
      <key>inf</key><real>-inf</real>
      <key>exp</key><real>1.5e3</real>
      <key>empty</key><string/>
      <key>uid</key><dict><key>CF$UID</key><integer>3</integer></dict>
    </dict></plist>`
    const value = parsePlistDict(utf8(text))
    assert.deepEqual(value, { 'a&b': 'x < y ☺ <raw>', hex: 31, plus: 5, nan: NaN, inf: -Infinity, exp: 1500, empty: '', uid: { CF$UID: 3 } })
  })

  it('keeps integers beyond 2^53 exact as bigint', () => {
    const value = parsePlist(xml('<array><integer>18446744073709551615</integer><integer>-9223372036854775808</integer><integer>9007199254740991</integer></array>'))
    assert.deepEqual(value, [18446744073709551615n, -9223372036854775808n, 9007199254740991])
  })

  it('decodes <data> leniently: invalid base64 (as in real profiles) does not fail the plist', () => {
    const value = parsePlistDict(xml('<dict><key>certs</key><array><data>REDACTED</data><data>AQID\n BA==</data></array></dict>'))
    const certs = value.certs as Uint8Array[]
    assert.deepEqual(certs[1], new Uint8Array([1, 2, 3, 4]))
    assert.ok(certs[0] instanceof Uint8Array)
  })

  it('reads the invalid-base64 XML fixture exactly like its binary twin', () => {
    // appinfo-plist (XML, "Sample..." is not base64) and appinfo-bplist hold the same profile;
    // the binary one was written from a lenient decode of that <data>, so both must match.
    const fromXml = parsePlistDict(readFileSync(new URL('appinfo-plist.mobileprovision', FIXTURES)))
    const fromBinary = parsePlistDict(readFileSync(new URL('appinfo-bplist.mobileprovision', FIXTURES)))
    assert.equal(fromXml.UUID, '12345678-5af4-4b93-b7e1-ca71e35562e1')
    assert.deepEqual(fromXml, fromBinary)
  })

  it('accepts Apple\'s PUBLIC DOCTYPE and never prints parser diagnostics', (t) => {
    const error = t.mock.method(console, 'error', () => {})
    const warn = t.mock.method(console, 'warn', () => {})
    assert.deepEqual(parsePlist(xml('<string>ok</string>')), 'ok')
    assertRefused(utf8('<plist><string>a</string></plist>trailing'), /malformed XML/)
    assertRefused(utf8('<plist><string>&unknown;</string></plist>'), /malformed XML.*entity/)
    assert.equal(error.mock.callCount() + warn.mock.callCount(), 0)
  })

  it('refuses XXE, billion laughs and internal DTD subsets before parsing', () => {
    assertRefused(utf8('<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><plist><string>&xxe;</string></plist>'), /internal subset/)
    const laughs = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`)]
    assertRefused(utf8(`<?xml version="1.0"?><!DOCTYPE plist [${laughs.join('')}]><plist><string>&lol9;</string></plist>`), /internal subset/)
    assertRefused(utf8('<!DOCTYPE plist SYSTEM "x.dtd" [ ]><plist><true/></plist>'), /internal subset/)
    assertRefused(utf8('<!DOCTYPE plist [<!ELEMENT plist ANY>]><plist><true/></plist>'), /internal subset/)
    assertRefused(utf8('<!DOCTYPE plist SYSTEM "has [bracket] in quotes" <!ENTITY x "y">><plist/>'), /entity declarations/)
  })

  it('refuses truncated, non-plist and malformed XML with a precise message', () => {
    assertRefused(utf8('<?xml version="1.0" encoding="UTF-8"?>\n'), /missing root element/)
    assertRefused(utf8('<?xml version="1.0"?>\n<plist version="1.0">\n<dict><key>a</key>'), /unclosed xml tag/)
    assertRefused(utf8('<plist><dict><key>a</key><string>b</str'), /malformed XML/)
    assertRefused(utf8('<html><body/></html>'), /root element is <html>/)
    assertRefused(utf8('<plist><string>a</string><string>b</string></plist>'), /exactly one value, found 2/)
    assertRefused(utf8('<plist/>'), /exactly one value, found 0/)
    assertRefused(xml('<dict><key>a</key></dict>'), /key without a value/)
    assertRefused(xml('<dict><string>a</string><string>b</string></dict>'), /expected <key>/)
    assertRefused(xml('<dict><key>__proto__</key><dict/></dict>'), /__proto__/)
    assertRefused(xml('<integer>12abc</integer>'), /not an integer/)
    assertRefused(xml('<integer>340282366920938463463374607431768211456</integer>'), /out of range/)
    assertRefused(xml('<real>fast</real>'), /not a number/)
    assertRefused(xml('<date>yesterday</date>'), /not an ISO 8601 date/)
    assertRefused(xml('<array>loose text</array>'), /unexpected text/)
    assertRefused(xml('<string>a<b/>c</string>'), /unexpected <b>/)
    assertRefused(xml('<unknown/>'), /unknown element <unknown>/)
    assertRefused(new Uint8Array([0x3c, 0x70, 0xff, 0xfe, 0x3e]), /not valid UTF-8/)
    assertRefused(utf8('\u0001<?xml version="1.0"?><plist><true/></plist>'), /neither an XML nor a binary/)
    assertRefused(new Uint8Array(0), /empty/)
  })

  it(`refuses XML nested deeper than ${LIMITS.plistDepth} levels, and accepts exactly that depth`, () => {
    const nest = (levels: number): Uint8Array => utf8(`<plist>${'<array>'.repeat(levels)}${'</array>'.repeat(levels)}</plist>`)
    assertRefused(nest(LIMITS.plistDepth + 1), /nested deeper than 512/)
    let value = parsePlist(nest(LIMITS.plistDepth))
    let depth = 0
    while (Array.isArray(value)) [value, depth] = [value[0] ?? null, depth + 1]
    assert.equal(depth, LIMITS.plistDepth)
  })

  it('refuses input larger than LIMITS.plistBytes as entry-too-large', () => {
    assertRefused(new Uint8Array(LIMITS.plistBytes + 1).fill(0x20), /more than the 16777216 allowed/, 'entry-too-large')
  })

  it('parsePlistDict refuses a top level that is not a dictionary', () => {
    assert.throws(() => parsePlistDict(xml('<array/>'), 'Info.plist'), { code: 'invalid-plist', message: 'Info.plist: top level is an array, not a dictionary' })
  })
})

describe('parsePlist: binary', () => {
  it('reads the same values as the XML form', () => {
    const binary = toBinaryPlist(SAMPLE)
    assert.equal(Buffer.from(binary.subarray(0, 8)).toString('latin1'), 'bplist00')
    assert.deepEqual(parsePlist(binary), SAMPLE)
    assert.deepEqual(parsePlist(binary), parsePlist(utf8(build(SAMPLE as Parameters<typeof build>[0]))))
  })

  it('reads float32 reals, sets, UTF-16 keys, UIDs, 16-byte integers and long lengths', () => {
    const objects: BplistObject[] = [
      { dict: [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]] },
      'f', { float32: 1.5 },
      's', { set: [2, 7] },
      { utf16: 'ключ' }, { uid: 300 },
      'big', -(2n ** 100n),
      'blob', new Uint8Array(70_000).fill(7),
    ]
    assert.deepEqual(parsePlist(encodeBinaryPlist(objects)), {
      f: 1.5, s: [1.5, 'big'], ключ: { CF$UID: 300 }, big: -(2n ** 100n), blob: new Uint8Array(70_000).fill(7),
    })
  })

  it('expands shared objects into independent copies', () => {
    const value = parsePlist(encodeBinaryPlist([{ array: [1, 1] }, { dict: [[2, 3]] }, 'k', 'v'])) as PlistDict[]
    assert.deepEqual(value, [{ k: 'v' }, { k: 'v' }])
    assert.notEqual(value[0], value[1])
  })

  it('refuses reference cycles, direct and indirect', () => {
    assertRefused(encodeBinaryPlist([{ array: [0] }]), /object 0 contains itself/)
    assertRefused(encodeBinaryPlist([{ dict: [[1, 2]] }, 'k', { array: [3] }, { set: [0] }]), /object 0 contains itself/)
  })

  it(`refuses nesting deeper than ${LIMITS.plistDepth}, and accepts exactly that depth`, () => {
    const chain = (levels: number): BplistObject[] => Array.from({ length: levels }, (_, i) => (i === levels - 1 ? { array: [] } : { array: [i + 1] }))
    assertRefused(encodeBinaryPlist(chain(LIMITS.plistDepth + 1)), /nested deeper than 512/)
    assertRefused(encodeBinaryPlist(chain(100_000)), /nested deeper than 512/)
    let value = parsePlist(encodeBinaryPlist(chain(LIMITS.plistDepth)))
    let depth = 0
    while (Array.isArray(value)) [value, depth] = [value[0] ?? null, depth + 1]
    assert.equal(depth, LIMITS.plistDepth)
  })

  it('refuses a shared-reference "billion laughs" that would expand past LIMITS.plistObjects', () => {
    // 40 arrays, each holding the next one twice: 2^40 values once expanded. The reader produces
    // a million values before it stops: a few hundred ms idle, several seconds on a loaded CI machine
    // (allocation-heavy), so the time budget is only a hang guard; the message shows where it stopped.
    const objects: BplistObject[] = Array.from({ length: 40 }, (_, i) => (i === 39 ? 'lol' : { array: [i + 1, i + 1] }))
    assertRefused(encodeBinaryPlist(objects), /expands to more than 1000000 values/, 'invalid-plist', 30_000)
  })

  it('refuses bad offsets, lengths and references', () => {
    const valid = encodeBinaryPlist([{ array: [1] }, 'x'])
    assertRefused(encodeBinaryPlist([{ array: [1] }, 'x'], { offsets: { 1: 5000 } }), /object 1 has offset 5000, outside the object area/)
    assertRefused(encodeBinaryPlist([{ array: [1] }, 'x'], { offsets: { 1: 3 } }), /object 1 has offset 3/)
    assertRefused(encodeBinaryPlist([{ raw: new Uint8Array([0x4f, 0x10, 0xff, 1, 2]) }]), /runs past the end of the object area/)
    assertRefused(encodeBinaryPlist([{ raw: new Uint8Array([0x5f, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }]), /out of range/)
    assertRefused(encodeBinaryPlist([{ raw: new Uint8Array([0xa1, 9]) }]), /refers to object 9, but there are only 1/)
    assertRefused(encodeBinaryPlist([{ dict: [[1, 1]] }, 7]), /key that is not a string/)
    assertRefused(encodeBinaryPlist([{ dict: [[1, 1]] }, '__proto__']), /__proto__/)
    assertRefused(encodeBinaryPlist([{ raw: new Uint8Array([0x70]) }]), /unsupported type marker 0x70/)
    assertRefused(encodeBinaryPlist([{ raw: new Uint8Array([0x33, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]) }]), /date out of range/)
    assert.deepEqual(parsePlist(valid), ['x'])
  })

  it('refuses a malformed trailer', () => {
    const valid = encodeBinaryPlist([{ array: [1] }, 'x'])
    assertRefused(patchTrailer(valid, { objectCount: BigInt(LIMITS.plistObjects + 1) }), /declares 1000001 objects/)
    assertRefused(patchTrailer(valid, { objectCount: 2n ** 64n - 1n }), /declares 18446744073709551615 objects/)
    assertRefused(patchTrailer(valid, { objectCount: 0n }), /declares no objects/)
    assertRefused(patchTrailer(valid, { objectCount: 1000n }), /offset table .* lies outside the file/)
    assertRefused(patchTrailer(valid, { tableOffset: 2n ** 63n }), /offset table .* lies outside the file/)
    assertRefused(patchTrailer(valid, { topObject: 2n }), /top object 2 is not among the 2 objects/)
    assertRefused(patchTrailer(valid, { offsetSize: 0 }), /invalid offset size 0/)
    assertRefused(patchTrailer(valid, { refSize: 9 }), /invalid object reference size 9/)
    const sample = toBinaryPlist(SAMPLE)
    for (let cut = 1; cut <= 40; cut++) assertRefused(sample.subarray(0, sample.length - cut), /trailer|offset table|objects/)
    assertRefused(valid.subarray(0, 20), /too short/)
    assertRefused(utf8('bplist15' + ' '.repeat(40)), /unsupported binary property list version "bplist15"/)
  })
})
