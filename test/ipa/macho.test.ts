import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { fileURLToPath } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import yauzl from 'yauzl'
import yazl from 'yazl'
import { extractCodeSignatureCms, readSigningCertificate } from '../../src/ipa/macho.ts'
import {
  CODE_DIRECTORY,
  CPU_TYPE_ARM,
  CPU_TYPE_ARM64,
  CPU_TYPE_X86_64,
  buildFat,
  buildMachO,
  createTestSigner,
  toBuffer,
  toStream,
  type SyntheticBinary,
  type TestSigner,
} from '../support/macho.ts'

let signer: TestSigner
let cms: Buffer

before(() => {
  signer = createTestSigner()
  cms = signer.sign(CODE_DIRECTORY)
})
after(() => signer?.dispose())

const read = (binary: SyntheticBinary | Buffer) => readSigningCertificate(toStream(binary).stream)

function assertTestCertificate(summary: Awaited<ReturnType<typeof readSigningCertificate>>): void {
  assert.ok(summary)
  const { subject, teamId, notAfter, sha1 } = summary
  assert.deepEqual({ subject, teamId, notAfter, sha1 }, signer.expected)
}

/** A signed thin image as bytes, plus its layout, for tests that patch offsets. */
function signedBytes(options: { bits?: 32 | 64; bigEndian?: boolean } = {}) {
  const binary = buildMachO({ bits: options.bits ?? 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, bigEndian: options.bigEndian })
  const { codeSignatureCommand, superBlob, cmsIndexEntry, cmsBlob } = binary.layout
  assert.ok(codeSignatureCommand !== null && superBlob !== null && cmsIndexEntry !== null && cmsBlob !== null)
  return { bytes: toBuffer(binary), codeSignatureCommand, superBlob, cmsIndexEntry, cmsBlob }
}

describe('readSigningCertificate on synthetic binaries', () => {
  it('reads the signer of a thin 64-bit executable', async () => {
    const binary = buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, extraLoadCommands: 12 })
    const extracted = await extractCodeSignatureCms(toStream(binary).stream)
    assert.ok(extracted)
    assert.ok(Buffer.from(extracted).equals(cms))
    assertTestCertificate(await read(binary))
  })

  it('reads a thin 32-bit (armv7) executable', async () => {
    assertTestCertificate(await read(buildMachO({ bits: 32, cpuType: CPU_TYPE_ARM, signatureCms: cms })))
  })

  it('reads byte-swapped (MH_CIGAM) headers', async () => {
    assertTestCertificate(await read(buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, bigEndian: true })))
    assertTestCertificate(await read(buildMachO({ bits: 32, cpuType: CPU_TYPE_ARM, signatureCms: cms, bigEndian: true })))
  })

  it('picks the arm64 slice of a fat binary even when it is not first', async () => {
    // The first slice is ad-hoc signed: a certificate can only come from the arm64 slice.
    const slices = [
      { cpuType: CPU_TYPE_X86_64, binary: buildMachO({ bits: 64, cpuType: CPU_TYPE_X86_64, signatureCms: null }) },
      { cpuType: CPU_TYPE_ARM64, binary: buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms }) },
    ]
    assertTestCertificate(await read(buildFat(slices)))
    assertTestCertificate(await read(buildFat(slices, { fat64: true })))
  })

  it('falls back to the first slice when there is no arm64', async () => {
    const fat = buildFat([
      { cpuType: CPU_TYPE_ARM, binary: buildMachO({ bits: 32, cpuType: CPU_TYPE_ARM, signatureCms: cms }) },
      { cpuType: CPU_TYPE_X86_64, binary: buildMachO({ bits: 64, cpuType: CPU_TYPE_X86_64, signatureCms: null }) },
    ])
    assertTestCertificate(await read(fat))
  })

  it('stops reading and destroys the stream once the CMS is found', async () => {
    const fat = buildFat([
      { cpuType: CPU_TYPE_ARM64, binary: buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms }) },
      { cpuType: CPU_TYPE_X86_64, binary: buildMachO({ bits: 64, cpuType: CPU_TYPE_X86_64, signatureCms: cms, paddingBytes: 20e6 }) },
    ])
    const { stream, progress } = toStream(fat)
    assertTestCertificate(await readSigningCertificate(stream))
    assert.ok(stream.destroyed)
    assert.ok(progress.pulled < 1e6, `pulled ${progress.pulled} of ${fat.size} bytes`)
  })

  it('streams 50 MB of code without holding it', async () => {
    // Every chunk is freshly allocated (as inflation does), so RSS would mostly measure garbage the
    // collector has not got round to; collecting every 4 MB leaves what the reader actually retains.
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const binary = buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, paddingBytes: 50 * 1024 * 1024 })
    gc()
    const baseline = process.memoryUsage.rss()
    let peak = baseline
    let sampledAt = 0
    const { stream, progress } = toStream(binary, {
      onChunk: (pulled) => {
        if (pulled - sampledAt < 4 * 1024 * 1024) return
        sampledAt = pulled
        gc()
        peak = Math.max(peak, process.memoryUsage.rss())
      },
    })
    assertTestCertificate(await readSigningCertificate(stream))
    assert.equal(progress.pulled, binary.size)
    assert.ok(peak - baseline < binary.size / 4, `rss grew by ${peak - baseline} bytes for a ${binary.size}-byte binary`)
  })

  it('returns null for an unsigned binary (no LC_CODE_SIGNATURE)', async () => {
    assert.equal(await read(buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, extraLoadCommands: 3 })), null)
  })

  it('returns null for an ad-hoc signature (empty CMS slot)', async () => {
    const binary = buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: null })
    assert.equal(await extractCodeSignatureCms(toStream(binary).stream), null)
    assert.equal(await read(binary), null)
  })

  it('returns null when the SuperBlob has no CMS slot', async () => {
    const { bytes, cmsIndexEntry } = signedBytes()
    bytes.writeUInt32BE(0x1000, cmsIndexEntry) // retype the slot: an alternate CodeDirectory
    assert.equal(await read(bytes), null)
  })

  it('returns null for truncated streams', async () => {
    const { bytes, cmsBlob } = signedBytes()
    for (const length of [0, 3, 20, 100, cmsBlob - 4, cmsBlob + 4, cmsBlob + 100]) {
      assert.equal(await read(bytes.subarray(0, length)), null, `cut at ${length}`)
    }
    const fat = toBuffer(buildFat([{ cpuType: CPU_TYPE_ARM64, binary: buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms }) }]))
    assert.equal(await read(fat.subarray(0, 1000)), null)
  })

  it('returns null for garbage, including a Java class file (same magic as fat)', async () => {
    assert.equal(await read(randomBytes(64 * 1024)), null)
    assert.equal(await read(Buffer.from('cafebabe00000034001d0a0006000f09', 'hex')), null)
    const { bytes, cmsBlob } = signedBytes()
    bytes.fill(0x5a, cmsBlob + 8, cmsBlob + 40) // the wrapper holds something that is not CMS
    assert.ok(await extractCodeSignatureCms(toStream(bytes).stream))
    assert.equal(await read(bytes), null)
  })

  it('returns null when offsets point backwards or past the end', async () => {
    const patched = (patch: (layout: ReturnType<typeof signedBytes>) => void): Buffer => {
      const layout = signedBytes()
      patch(layout)
      return layout.bytes
    }
    const cases: Record<string, Buffer> = {
      'dataoff inside the load commands': patched((l) => l.bytes.writeUInt32LE(40, l.codeSignatureCommand + 8)),
      'dataoff past the end': patched((l) => l.bytes.writeUInt32LE(l.bytes.length + 4096, l.codeSignatureCommand + 8)),
      'datasize too small': patched((l) => l.bytes.writeUInt32LE(4, l.codeSignatureCommand + 12)),
      'CMS offset into the index': patched((l) => l.bytes.writeUInt32BE(4, l.cmsIndexEntry + 4)),
      'CMS offset past the SuperBlob': patched((l) => l.bytes.writeUInt32BE(0x7fffffff, l.cmsIndexEntry + 4)),
      'SuperBlob longer than datasize': patched((l) => l.bytes.writeUInt32BE(0xffffff00, l.superBlob + 4)),
      'absurd slot count': patched((l) => l.bytes.writeUInt32BE(0x10000000, l.superBlob + 8)),
      'absurd CMS length': patched((l) => l.bytes.writeUInt32BE(0xfffffff0, l.cmsBlob + 4)),
      'absurd sizeofcmds': patched((l) => l.bytes.writeUInt32LE(0xfffffff0, 20)),
      'zero cmdsize': patched((l) => l.bytes.writeUInt32LE(0, 32 + 4)),
    }
    for (const [name, bytes] of Object.entries(cases)) assert.equal(await read(bytes), null, name)

    const slice = buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, paddingBytes: 4e6 })
    const fat = toBuffer(buildFat([{ cpuType: CPU_TYPE_ARM64, binary: slice }]))
    const backwards = Buffer.from(fat)
    backwards.writeUInt32BE(4, 8 + 8) // slice offset inside the fat header
    const oversized = Buffer.from(fat)
    oversized.writeUInt32BE(slice.size - 100, 8 + 12) // slice too small for its own signature
    const { stream, progress } = toStream(oversized)
    assert.equal(await read(backwards), null)
    assert.equal(await readSigningCertificate(stream), null)
    assert.ok(progress.pulled < fat.length, 'refused before reading up to the signature')
  })

  it('rejects with the source stream error (e.g. a zip CRC mismatch)', async () => {
    const { bytes } = signedBytes()
    const failing = new Readable({
      read() {
        this.push(bytes.subarray(0, 100))
        this.destroy(new Error('invalid CRC32'))
      },
    })
    await assert.rejects(readSigningCertificate(failing), /invalid CRC32/)
  })

  it('rejects when inflating the entry out of a damaged .ipa fails', async () => {
    const binary = toBuffer(buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, paddingBytes: 256 * 1024 }))
    const zip = new yazl.ZipFile()
    zip.addBuffer(binary, 'Payload/X.app/X', { compress: true })
    zip.end()
    const archive = await buffer(zip.outputStream)
    const dataStart = 30 + 'Payload/X.app/X'.length
    archive.fill(0xff, dataStart + 8, dataStart + 40) // the deflate stream now has invalid blocks
    const stream = await new Promise<Readable>((resolve, reject) =>
      yauzl.fromBuffer(archive, { lazyEntries: true }, (error, file) => {
        if (error) return reject(error)
        file.once('entry', (entry: yauzl.Entry) => file.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))))
        file.readEntry()
      }),
    )
    await assert.rejects(readSigningCertificate(stream), { code: 'Z_DATA_ERROR' })
  })
})

/**
 * Facts verified independently of this code: each executable was extracted with `unzip -p`, the
 * CMS located with a Python struct walk (fat arch table, LC_CODE_SIGNATURE, SuperBlob slot 0x10000)
 * and the signer read with `openssl pkcs7 -print_certs` / `openssl x509 -enddate -fingerprint -sha1`.
 */
const FIXTURES: Record<string, { subject: string; teamId: string; notAfter: string; sha1: string } | 'no executable'> = {
  'appinfo-embedded.ipa': { subject: 'iPhone Distribution: Niceliving Beijing Technology Co. Ltd.', teamId: '72LA85G59H', notAfter: '2022-06-19T11:29:49.000Z', sha1: '7EEF3709C5E13AC34457C77C7001EDEFACE5F744' },
  'appinfo-ipad.ipa': { subject: 'iPhone Distribution: QYER Inc (5PJA6N5A3B)', teamId: '5PJA6N5A3B', notAfter: '2017-04-12T09:37:18.000Z', sha1: 'B52F2E41540A8D7E41055D640A3AA293AF70D02B' },
  'appinfo-iphone.ipa': { subject: 'iPhone Developer: Yi Xiao (54P9L43M84)', teamId: '5PJA6N5A3B', notAfter: '2017-04-14T07:56:18.000Z', sha1: 'EA8962E20553A671C4AB38197537C813D5D560A5' },
  'bitbar-BitBarSampleApp.ipa': { subject: 'Apple Development: Michał Przytarski (X737YV7J27)', teamId: 'N9HW7DB6H4', notAfter: '2023-07-27T12:48:56.000Z', sha1: '829FEF1FE761CAE2071D86FBE763821343C17769' },
  'bitbar-sample-latest-iOS.ipa': { subject: 'Apple Development: Amit Sinha (D3STSJBQAZ)', teamId: 'N9HW7DB6H4', notAfter: '2026-12-16T13:59:28.000Z', sha1: '393F6D3CFC5883187DE1E35C1E27C567B0CFE4DF' },
  'calabash-CalSmoke.ipa': { subject: 'iPhone Developer: Karl Krukow (YTTN6Y2QS9)', teamId: 'FYD86LA7RE', notAfter: '2018-01-06T11:33:43.000Z', sha1: '8742A8D1D6EB9AEB1955A1F759D244EB214A67AD' },
  'ipaserver-ipa.ipa': { subject: 'Apple Development: Qin Junru (CSBXB8DEZA)', teamId: 'GC6FQHF5NF', notAfter: '2022-04-17T05:10:27.000Z', sha1: '4C3A34B8873BE76A8C13112E8E01A2F742C34EC4' },
  'lagunitas-Sample.ipa': { subject: 'iPhone Developer: Sam Soffes (Q38FNQXFZH)', teamId: 'UP9C8XM22A', notAfter: '2014-10-30T02:51:05.000Z', sha1: '428E7452846E3A049F877EAACB3A996CBD9499CB' },
  'very capable app.ipa': { subject: 'TestFixture', teamId: 'TestFixture', notAfter: '2028-04-04T01:11:26.000Z', sha1: 'C8D1AAC67C23186501A9DDC93356D8E14AE29E14' },
  'ipametadata-testApp.ipa': 'no executable',
  'ipametadata-testApp-binaryPlist.ipa': 'no executable',
}

/** Opens Payload/<X>.app/<X> (the executable for every fixture) and hands its inflating stream to `use`. */
function withExecutable<T>(ipa: string, use: (stream: Readable | null) => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    yauzl.open(fileURLToPath(new URL(`../fixtures/ipa/${ipa}`, import.meta.url)), { lazyEntries: true, autoClose: false }, (error, zip) => {
      if (error) return reject(error)
      const finish = (promise: Promise<T>): void => {
        promise.then(resolve, reject).finally(() => zip.close())
      }
      zip.on('error', reject)
      zip.on('end', () => finish(use(null)))
      zip.on('entry', (entry: yauzl.Entry) => {
        const match = /^Payload\/([^/]+)\.app\/([^/]+)$/.exec(entry.fileName)
        if (!match || match[1] !== match[2]) return zip.readEntry()
        zip.openReadStream(entry, (streamError, stream) => (streamError ? reject(streamError) : finish(use(stream))))
      })
      zip.readEntry()
    })
  })
}

describe('readSigningCertificate on real executables', () => {
  for (const [ipa, expected] of Object.entries(FIXTURES)) {
    it(ipa, async () => {
      const summary = await withExecutable(ipa, async (stream) => (stream ? readSigningCertificate(stream) : 'no executable'))
      if (expected === 'no executable' || summary === 'no executable' || summary === null) return assert.equal(summary, expected)
      const { subject, teamId, notAfter, sha1 } = summary
      assert.deepEqual({ subject, teamId, notAfter, sha1 }, expected)
    })
  }
})
