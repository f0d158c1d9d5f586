/**
 * The seed corpus: every committed fixture (.ipa, malformed archives, profiles, configuration
 * profiles, CgBI icons) plus synthetic inputs made with the test builders — archives (ZIP64 too),
 * XML and binary plists, CMS-signed profiles (DER and BER), CgBI and plain icons, signed Mach-O
 * executables (thin and fat), device answers signed like iOS's. The pieces of an .ipa are also
 * kept apart (`components`) so the generator can mutate one and re-zip the rest intact.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build as buildXmlPlist } from 'plist'
import yauzl from 'yauzl'
import yazl from 'yazl'
import type { PlistValue } from '../../../src/ipa/types.ts'
import { encodeBinaryPlist, toBinaryPlist } from '../../support/bplist-writer.ts'
import { cgbiAsPlainPng, crushPng } from '../../support/cgbi.ts'
import { fixture } from '../../support/fixtures.ts'
import { DEFAULT_INFO, ipaEntries, type ZipEntrySpec } from '../../support/ipa-builder.ts'
import { buildFat, buildMachO, CODE_DIRECTORY, CPU_TYPE_ARM64, createTestSigner, toBuffer } from '../../support/macho.ts'
import { buildProfilePlist, createSigningIdentity, SAMPLE_UDIDS, signProfile } from '../../support/profiles.ts'

/** What a fuzz input is fed to (see targets.ts). */
export const TARGETS = ['ipa', 'plist', 'profile', 'png', 'macho', 'assets-car', 'device-response', 'manifest', 'itms-link'] as const
/** `self-test` is the harness's own check (targets.ts): never generated, only sent by its test. */
export type TargetName = (typeof TARGETS)[number] | 'self-test'

/** Which structure-aware mutator fits the bytes. */
export type SeedFormat = 'zip' | 'der' | 'png' | 'bplist' | 'xml' | 'raw'

export interface Seed {
  target: TargetName
  format: SeedFormat
  name: string
  bytes: Buffer
}

/** The parts of an .ipa, mutated one at a time and re-zipped around the others. */
export interface IpaComponents {
  infoPlists: Seed[]
  profiles: Seed[]
  icons: Seed[]
  executables: Seed[]
  assetsCars: Seed[]
}

export interface Corpus {
  seeds: Seed[]
  components: IpaComponents
  /** CMS envelopes whose content the generator may replace (profiles, device answers). */
  envelopes: Seed[]
}

/** Detects the format from the first bytes. */
export function formatOf(bytes: Buffer): SeedFormat {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50) return 'zip'
  if (bytes.subarray(0, 6).toString('latin1') === 'bplist') return 'bplist'
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) return 'png'
  if (bytes[0] === 0x30) return 'der'
  if (/^\s*(?:\x01)?<[?!a-z]/i.test(bytes.subarray(0, 64).toString('latin1'))) return 'xml'
  return 'raw'
}

const seed = (target: TargetName, name: string, bytes: Buffer): Seed => ({ target, format: formatOf(bytes), name, bytes })

/** Builds the corpus; takes a second or two (openssl makes throw-away identities). */
export async function buildCorpus(): Promise<Corpus> {
  const seeds: Seed[] = []
  const components: IpaComponents = { infoPlists: [], profiles: [], icons: [], executables: [], assetsCars: [] }
  const envelopes: Seed[] = []

  for (const folder of ['ipa', 'ipa-malformed']) {
    for (const name of readdirSync(fixture(folder, '.')).filter((n) => n.endsWith('.ipa'))) {
      const bytes = readFileSync(fixture(folder, name))
      seeds.push(seed('ipa', `${folder}/${name}`, bytes))
      if (bytes.length > 4 && bytes.readUInt32LE(0) === 0x04034b50) await collectComponents(`${folder}/${name}`, bytes, components)
    }
  }
  seeds.push(seed('ipa', 'misc/UIKitCatalog-iphonesimulator.zip', readFileSync(fixture('misc', 'UIKitCatalog-iphonesimulator.zip'))))
  for (const name of readdirSync(fixture('mobileprovision', '.')).filter((n) => /\.(mobileprovision|provisionprofile)$/.test(n))) {
    const profile = seed('profile', `mobileprovision/${name}`, readFileSync(fixture('mobileprovision', name)))
    seeds.push(profile)
    components.profiles.push(profile)
    if (profile.format === 'der') envelopes.push(profile)
  }
  for (const name of readdirSync(fixture('mobileconfig', '.')).filter((n) => n.endsWith('.mobileconfig'))) {
    const bytes = readFileSync(fixture('mobileconfig', name))
    seeds.push(seed(formatOf(bytes) === 'der' ? 'device-response' : 'plist', `mobileconfig/${name}`, bytes))
  }
  for (const name of ['pngdefry-40@2x.png', 'pngdefry-60@2x.png']) components.icons.push(seed('png', `misc/${name}`, readFileSync(fixture('misc', name))))

  // What `airstrip doctor` reads from a remote deployment: manifests (as iOS would) and install links.
  const manifest = (url: string): string => buildXmlPlist({ items: [{ assets: [{ kind: 'software-package', url, 'sha256-size': 10485760, sha256s: ['a'.repeat(64)] }, { kind: 'display-image', url: 'https://cdn.example.com/icon.png' }], metadata: { 'bundle-identifier': 'com.example.app', 'bundle-version': '1.2.3', kind: 'software', title: 'Example & <Co>' } }] } as never)
  seeds.push(seed('manifest', 'synthetic/manifest.plist', Buffer.from(manifest('https://cdn.example.com/builds/1.2.3/Example.ipa'))))
  seeds.push(seed('manifest', 'synthetic/manifest-query.plist', Buffer.from(manifest('https://ota.example.com/d/abc.def/Example%20App.ipa?x=1&y=2'))))
  for (const link of [
    'itms-services://?action=download-manifest&url=https%3A%2F%2Fcdn.example.com%2Fbuilds%2F1.2.3%2Fmanifest.plist',
    'itms-services://?action=download-manifest&amp;url=https://ota.example.com/m/abc.def/manifest.plist?x=1&y=2',
    'itms-services://host/?action=download-manifest&url=itms-services%3A%2F%2F%3Faction%3Ddownload-manifest%26url%3Dhttps%253A%252F%252Fa.example%252Fm.plist',
  ]) seeds.push({ target: 'itms-link', format: 'raw', name: `synthetic/${link.slice(0, 40)}`, bytes: Buffer.from(link) })

  const work = mkdtempSync(join(tmpdir(), 'airstrip-fuzz-corpus-'))
  const signer = createTestSigner()
  try {
    // Plists, XML and binary, plain and awkward (shared sub-trees, deep, wide, every type).
    const info = { ...DEFAULT_INFO, CFBundleIcons: { CFBundlePrimaryIcon: { CFBundleIconFiles: ['AppIcon60x60'] } }, UIRequiredDeviceCapabilities: ['arm64'], Flag: true, Count: 42, Ratio: 1.5, When: new Date('2026-01-01T00:00:00Z'), Blob: Buffer.from('data') }
    components.infoPlists.push(seed('plist', 'synthetic/info.xml', Buffer.from(buildXmlPlist(info as never))))
    components.infoPlists.push(seed('plist', 'synthetic/info.bplist', Buffer.from(toBinaryPlist(info as unknown as PlistValue))))
    seeds.push(seed('plist', 'synthetic/shared.bplist', Buffer.from(encodeBinaryPlist([{ dict: [[1, 2], [3, 2]] }, 'a', { array: [4, 4, 4] }, 'b', { uid: 7 }]))))
    seeds.push(seed('plist', 'synthetic/types.bplist', Buffer.from(encodeBinaryPlist([{ array: [1, 2, 3, 4, 5, 6, 7] }, 2n ** 63n - 1n, { float32: 1.5 }, { utf16: 'ünï' }, new Date(0), new Uint8Array([1, 2]), { set: [1] }, { uid: 1 }]))))

    // Profiles: every kind, CMS in DER and in BER (indefinite lengths, like Apple's signer), and bare.
    const identity = createSigningIdentity(work, { commonName: 'Apple Development: Fuzz (ABCDE12345)', teamId: 'ABCDE12345' })
    for (const kind of ['development', 'ad-hoc', 'enterprise', 'app-store'] as const) {
      const xml = buildProfilePlist({ kind, developerCertificates: [identity.der], devices: [...SAMPLE_UDIDS], createdAt: new Date('2026-01-01T00:00:00Z') })
      const der = seed('profile', `synthetic/${kind}.der.mobileprovision`, signProfile(xml, identity))
      const ber = seed('profile', `synthetic/${kind}.ber.mobileprovision`, signProfile(xml, identity, { ber: true }))
      components.profiles.push(der, ber)
      envelopes.push(der, ber)
      if (kind === 'ad-hoc') components.profiles.push(seed('profile', 'synthetic/ad-hoc.xml.mobileprovision', Buffer.from(xml)))
    }

    // Icons: CgBI as Xcode writes them, and plain PNGs.
    const rgba = Buffer.alloc(60 * 60 * 4)
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 7) & 0xff
    const cgbi = crushPng(rgba, 60, 60)
    components.icons.push(seed('png', 'synthetic/AppIcon60x60.cgbi.png', cgbi), seed('png', 'synthetic/AppIcon60x60.plain.png', cgbiAsPlainPng(cgbi)))

    // Executables: thin and fat, 32/64-bit, signed with a real (throw-away) identity, unsigned, ad-hoc.
    const cms = signer.sign(CODE_DIRECTORY)
    const thin = buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: cms, paddingBytes: 4096, extraLoadCommands: 3 })
    components.executables.push(
      seed('macho', 'synthetic/thin64-signed', toBuffer(thin)),
      seed('macho', 'synthetic/thin32-bigendian', toBuffer(buildMachO({ bits: 32, cpuType: 12, signatureCms: cms, bigEndian: true }))),
      seed('macho', 'synthetic/thin64-adhoc', toBuffer(buildMachO({ bits: 64, cpuType: CPU_TYPE_ARM64, signatureCms: null }))),
      seed('macho', 'synthetic/fat', toBuffer(buildFat([{ cpuType: 12, binary: buildMachO({ bits: 32, cpuType: 12, signatureCms: cms }) }, { cpuType: CPU_TYPE_ARM64, binary: thin }]))),
      seed('macho', 'synthetic/fat64', toBuffer(buildFat([{ cpuType: CPU_TYPE_ARM64, binary: thin }], { fat64: true }))),
    )

    // Device answers, as iOS signs them (and a few odd ones a hostile client might send).
    const device = createSigningIdentity(work, { commonName: 'Fuzz Device 00008030-001A2B3C4D5E6F70' })
    const answers: Record<string, unknown>[] = [
      { UDID: SAMPLE_UDIDS[1], PRODUCT: 'iPhone15,2', VERSION: '22D63', SERIAL: 'F2LXYZ', DEVICE_NAME: 'Fuzz iPhone', CHALLENGE: 'c'.repeat(43) },
      { UDID: SAMPLE_UDIDS[0], PRODUCT: 'iPad8,1', VERSION: '21A5', CHALLENGE: 'x' },
      { UDID: ['not', 'a', 'string'], PRODUCT: { nested: true }, CHALLENGE: 1 },
      { UDID: 'A'.repeat(300), DEVICE_NAME: '<script>alert(1)</script>\u202e', CHALLENGE: '' },
    ]
    answers.forEach((answer, i) => {
      const signed = seed('device-response', `synthetic/device-answer-${i}`, signProfile(buildXmlPlist(answer as never), device, { ber: i === 1 }))
      seeds.push(signed)
      envelopes.push(signed)
    })
  } finally {
    signer.dispose()
    rmSync(work, { recursive: true, force: true })
  }

  // Synthetic archives from the pieces: plain, ZIP64, stored (uncompressed) and with extensions.
  const pick = <T>(items: T[], i: number): T => items[i % items.length]!
  for (let i = 0; i < 6; i++) {
    const entries = componentEntries({
      info: pick(components.infoPlists, i).bytes,
      profile: pick(components.profiles.filter((p) => p.name.startsWith('synthetic/')), i).bytes,
      icon: pick(components.icons, i).bytes,
      executable: pick(components.executables, i).bytes,
      extension: i % 2 === 0,
      compress: i % 3 !== 0,
    })
    seeds.push(seed('ipa', `synthetic/app-${i}${i % 2 ? '-zip64' : ''}.ipa`, await zipToBuffer(entries, { zip64: i % 2 === 1 })))
  }
  for (const list of Object.values(components) as Seed[][]) seeds.push(...list)
  return { seeds, components, envelopes }
}

/** The entries of an .ipa made of the given pieces (any of which may be mutated). */
export function componentEntries(parts: { info: Buffer; profile: Buffer | null; icon: Buffer | null; executable: Buffer | null; assetsCar?: Buffer | null; extension?: boolean; extensionInfo?: Buffer; compress?: boolean }): ZipEntrySpec[] {
  const compress = parts.compress ?? true
  const entries = ipaEntries({ infoPlistBytes: parts.info, profile: parts.profile, executable: parts.executable ?? null }).map((entry) => ({ ...entry, compress }))
  const app = 'Payload/Example.app/'
  if (parts.icon) entries.push({ name: `${app}AppIcon60x60@2x.png`, data: parts.icon, compress })
  if (parts.assetsCar) entries.push({ name: `${app}Assets.car`, data: parts.assetsCar, compress })
  if (parts.extension) {
    entries.push({ name: `${app}PlugIns/Widget.appex/Info.plist`, data: parts.extensionInfo ?? parts.info, compress })
    if (parts.profile) entries.push({ name: `${app}PlugIns/Widget.appex/embedded.mobileprovision`, data: parts.profile, compress })
  }
  return entries
}

/** A ZIP written by yazl into memory. */
export async function zipToBuffer(entries: ZipEntrySpec[], options: { zip64?: boolean } = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile()
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk))
    zip.outputStream.on('end', resolve)
    zip.outputStream.on('error', reject)
  })
  const mtime = new Date('2026-01-01T00:00:00Z')
  for (const entry of entries) {
    if ('stream' in entry) throw new Error('zipToBuffer takes in-memory entries only')
    zip.addBuffer(typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data, entry.name, { mtime, compress: entry.compress ?? true, forceZip64Format: options.zip64 ?? false })
  }
  zip.end()
  await done
  return Buffer.concat(chunks)
}

/** Pulls Info.plist, embedded.mobileprovision, icons, Assets.car and small executables out of a fixture. */
async function collectComponents(name: string, bytes: Buffer, into: IpaComponents): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))))
  await new Promise<void>((resolve) => {
    zip.on('error', () => resolve())
    zip.on('end', resolve)
    zip.on('entry', (entry: yauzl.Entry) => {
      const file = entry.fileName
      const kind = /^Payload\/[^/]+\.app\/Info\.plist$/.test(file) ? 'infoPlists'
        : /\.app\/embedded\.mobileprovision$/.test(file) ? 'profiles'
        : /^Payload\/[^/]+\.app\/[^/]+\.png$/.test(file) && entry.uncompressedSize < 256 * 1024 ? 'icons'
        : /\.app\/Assets\.car$/.test(file) && entry.uncompressedSize < 1024 * 1024 ? 'assetsCars'
        : /^Payload\/[^/]+\.app\/[^/.]+$/.test(file) && entry.uncompressedSize > 4096 && entry.uncompressedSize < 1024 * 1024 ? 'executables'
        : null
      if (!kind || into[kind].length > 40) return zip.readEntry()
      zip.openReadStream(entry, (error, stream) => {
        if (error) return zip.readEntry()
        const chunks: Buffer[] = []
        stream.on('data', (chunk: Buffer) => chunks.push(chunk))
        stream.on('error', () => zip.readEntry())
        stream.on('end', () => {
          const target = { infoPlists: 'plist', profiles: 'profile', icons: 'png', assetsCars: 'assets-car', executables: 'macho' } as const
          into[kind].push(seed(target[kind], `${name}:${file}`, Buffer.concat(chunks)))
          zip.readEntry()
        })
      })
    })
    zip.readEntry()
  })
  zip.close()
}
