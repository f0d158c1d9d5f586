// The ZIP reader under `inspect`: same entries, names and bytes as yauzl on every fixture, yauzl's
// name rules, bounded reads, and sources that answer in small pieces (HTTP Range).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import yauzl from 'yauzl'
import { openArchive, type Archive } from '../../src/ipa/archive.ts'
import { openFileSource, type RandomAccessSource } from '../../src/ipa/source.ts'
import { fixture, tempDir } from '../support/fixtures.ts'
import { buildIpa, writeZip } from '../support/ipa-builder.ts'

const keepAll = (): boolean => true

async function withArchive<T>(path: string, use: (archive: Archive, source: RandomAccessSource) => Promise<T>, wrap = (s: RandomAccessSource) => s): Promise<T> {
  const source = await openFileSource(path)
  try {
    return await use(await openArchive(wrap(source), keepAll), source)
  } finally {
    await source.close()
  }
}

/** Every entry yauzl sees (first of each name), with its bytes when it is small. */
async function yauzlEntries(path: string): Promise<Map<string, { compressedSize: number; uncompressedSize: number; crc32: number; data: Buffer | null }>> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: false })
  const entries = new Map<string, { compressedSize: number; uncompressedSize: number; crc32: number; data: Buffer | null }>()
  try {
    for await (const entry of zip.eachEntry()) {
      if (entries.has(entry.fileName)) continue
      let data: Buffer | null = null
      if (entry.uncompressedSize <= 1024 * 1024 && !entry.fileName.endsWith('/')) {
        const chunks: Buffer[] = []
        for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer)
        data = Buffer.concat(chunks)
      }
      entries.set(entry.fileName, { compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize, crc32: entry.crc32, data })
    }
  } finally {
    zip.close()
  }
  return entries
}

test('every fixture archive: the same entries, sizes, CRCs and bytes as yauzl', async () => {
  const paths = [
    ...readdirSync(fixture('ipa', '')).filter((name) => name.endsWith('.ipa')).map((name) => fixture('ipa', name)),
    ...['fastlane-ContainsWatchApp.ipa', 'fastlane-no-app-bundle.ipa', 'fastlane-with_no_swift.ipa'].map((name) => fixture('ipa-malformed', name)),
    fixture('misc', 'UIKitCatalog-iphonesimulator.zip'),
  ]
  for (const path of paths) {
    const expected = await yauzlEntries(path)
    await withArchive(path, async (archive) => {
      assert.deepEqual([...archive.entries.keys()], [...expected.keys()], path)
      for (const [name, want] of expected) {
        const entry = archive.entries.get(name)!
        assert.deepEqual({ compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize, crc32: entry.crc32 }, { compressedSize: want.compressedSize, uncompressedSize: want.uncompressedSize, crc32: want.crc32 }, `${path}: ${name}`)
        if (want.data) assert.ok((await archive.readEntry(entry, 2 * 1024 * 1024)).equals(want.data), `${path}: ${name} bytes`)
      }
    })
  }
})

test('names: CP437 without the UTF-8 flag, backslashes as separators, unsafe names refused as yauzl does', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'names.ipa')
  await writeZip(path, [
    { name: 'Payload/Example.app/caf-.txt', data: 'cp437' },
    { name: 'Payload|Example.app|Info.plist', data: 'backslashes' },
  ])
  patchCentral(path, 'Payload/Example.app/caf-.txt', (bytes, at) => {
    bytes[at + 46 + 'Payload/Example.app/caf'.length] = 0x82 // "é" in CP437
    bytes.writeUInt16LE(bytes.readUInt16LE(at + 8) & ~0x800, at + 8) // no UTF-8 flag
  })
  patchCentral(path, 'Payload|Example.app|Info.plist', (bytes, at) => void Buffer.from('Payload\\Example.app\\Info.plist').copy(bytes, at + 46))
  await withArchive(path, async (archive) => {
    assert.deepEqual([...archive.entries.keys()], ['Payload/Example.app/café.txt', 'Payload/Example.app/Info.plist'])
    assert.equal((await archive.readEntry(archive.entries.get('Payload/Example.app/café.txt')!, 100)).toString(), 'cp437')
  })

  for (const hostile of ['Payload\\..\\..\\e', 'C:/Windows/x', '/x/']) {
    const unsafe = join(dir, `unsafe-${hostile.length}.ipa`)
    const placeholder = 'x'.repeat(hostile.length)
    await writeZip(unsafe, [{ name: placeholder, data: 'x' }])
    patchCentral(unsafe, placeholder, (bytes, at) => void Buffer.from(hostile).copy(bytes, at + 46))
    const source = await openFileSource(unsafe)
    await assert.rejects(openArchive(source, keepAll), { code: 'unsafe-entry-name' }, hostile)
    await source.close()
  }
})

test('damage in the central directory or an entry is archive-corrupt; oversized reads are refused first', async (t) => {
  const dir = tempDir(t)
  const stored = join(dir, 'stored.ipa')
  await writeZip(stored, [{ name: 'a.txt', data: 'stored data', compress: false }])
  patchCentral(stored, 'a.txt', (bytes, at) => bytes.writeUInt32LE(3, at + 20)) // compressed size != size
  await assert.rejects(withArchive(stored, async () => {}), { code: 'archive-corrupt', message: /size mismatch for stored file a\.txt/ })

  const deflated = join(dir, 'deflated.ipa')
  const text = 'compressible '.repeat(10_000)
  await writeZip(deflated, [{ name: 'big.txt', data: text }])
  await withArchive(deflated, async (archive) => {
    const entry = archive.entries.get('big.txt')!
    await assert.rejects(archive.readEntry(entry, 1000), { code: 'entry-too-large' })
    assert.equal((await archive.readEntry(entry, text.length)).toString(), text)
  })
  // Cut the deflate stream short by lying about its compressed size: the stream ends too early.
  patchCentral(deflated, 'big.txt', (bytes, at) => bytes.writeUInt32LE(Math.floor(bytes.readUInt32LE(at + 20) / 2), at + 20))
  await withArchive(deflated, async (archive) => {
    const entry = archive.entries.get('big.txt')!
    await assert.rejects(archive.readEntry(entry, text.length), { code: 'archive-corrupt' })
    await assert.rejects(collect(archive.openEntry(entry)), { code: 'archive-corrupt' })
  })
})

test('openEntry streams in chunks and stops inflating when the reader stops', async (t) => {
  const path = join(tempDir(t), 'stream.ipa')
  const size = 8 * 1024 * 1024
  const pattern = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4) pattern.writeUInt32LE((i * 2654435761) >>> 0, i)
  await writeZip(path, [
    { name: 'big.bin', stream: () => Readable.from([pattern]), size },
    { name: 'stored.bin', data: pattern.subarray(0, 3 * 1024 * 1024 + 5), compress: false },
  ])
  await withArchive(path, async (archive) => {
    const whole = Buffer.concat(await collect(archive.openEntry(archive.entries.get('big.bin')!)))
    assert.ok(whole.equals(pattern))
    let seen = 0
    for await (const chunk of archive.openEntry(archive.entries.get('big.bin')!)) {
      seen += chunk.length
      break
    }
    assert.ok(seen > 0 && seen < size)
    const stored = await collect(archive.openEntry(archive.entries.get('stored.bin')!))
    assert.ok(stored.length > 1 && Buffer.concat(stored).equals(pattern.subarray(0, 3 * 1024 * 1024 + 5)))
  })
})

test('a source that answers in small pieces (like HTTP Range) reads the same 20,000-entry ZIP64 archive', { timeout: 60_000 }, async (t) => {
  const path = join(tempDir(t), 'many.ipa')
  await buildIpa(path, { fillerEntries: 20_000, zip64: true })
  const names = await withArchive(path, async (archive) => [...archive.entries.keys()])
  const pieces = await withArchive(path, async (archive) => {
    assert.equal(archive.entryCount, 20_000 + 2) // filler, Info.plist, executable
    const info = await archive.readEntry(archive.entries.get('Payload/Example.app/Info.plist')!, 1024 * 1024)
    assert.match(info.toString(), /com\.example\.app/)
    return [...archive.entries.keys()]
  }, (source) => ({ ...bind(source), readInto: (buffer, position) => source.readInto(buffer.subarray(0, Math.min(buffer.length, 1000)), position) }))
  assert.deepEqual(pieces, names)
})

function bind(source: RandomAccessSource): RandomAccessSource {
  return { size: source.size, read: source.read.bind(source), readInto: source.readInto.bind(source), stream: source.stream.bind(source), close: source.close.bind(source) }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = []
  for await (const chunk of chunks) all.push(chunk)
  return all
}

/** Finds `name`'s central directory record and lets `edit` change it in place. */
function patchCentral(path: string, name: string, edit: (bytes: Buffer, at: number) => void): void {
  const bytes = readFileSync(path)
  const wanted = Buffer.from(name)
  for (let at = bytes.length - 22; at >= 0; at--) {
    if (bytes.readUInt32LE(at) === 0x02014b50 && bytes.readUInt16LE(at + 28) === wanted.length && bytes.subarray(at + 46, at + 46 + wanted.length).equals(wanted)) {
      edit(bytes, at)
      writeFileSync(path, bytes)
      return
    }
  }
  throw new Error(`${name} not found in ${path}`)
}
