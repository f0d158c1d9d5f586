/**
 * Turns the corpus and a seeded PRNG into fuzz inputs. Strategies, by weight:
 * - rebuild an .ipa around one mutated piece (Info.plist, profile, icon, executable, Assets.car,
 *   an extension's plist), compressed or stored, ZIP64 or not: the damage gets past the CRC checks;
 * - mutate a whole archive (ZIP length/offset/count fields, ZIP64 records, names, or havoc);
 * - mutate one piece for its own parser (plist, profile, PNG, Mach-O, Assets.car, device answer),
 *   including CMS envelopes re-wrapped around a mutated plist;
 * - splice two inputs of the same target.
 */
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { havoc, splice } from './byte-mutators.ts'
import { componentEntries, formatOf, zipToBuffer, type Corpus, type Seed, type SeedFormat, type TargetName } from './corpus.ts'
import { mutateBinaryPlist, mutateDer, mutatePng, mutateXmlPlist } from './format-mutators.ts'
import { createRandom, iterationSeed, type Random } from './random.ts'
import { mutateZip } from './zip-mutators.ts'

export interface FuzzInput {
  target: TargetName
  bytes: Buffer
  /** How it was made (seed name and mutation steps), for the report of a failure. */
  recipe: string
}

const FORMAT_MUTATORS: Record<SeedFormat, (input: Buffer, random: Random) => Buffer> = {
  zip: mutateZip,
  der: mutateDer,
  png: mutatePng,
  bplist: mutateBinaryPlist,
  xml: mutateXmlPlist,
  raw: havoc,
}

/** One mutation step fitting the bytes' format (70 %), or havoc. */
export function mutate(bytes: Buffer, random: Random): { bytes: Buffer; step: string } {
  const format = formatOf(bytes)
  if (random.chance(0.7)) return { bytes: FORMAT_MUTATORS[format](bytes, random), step: format }
  return { bytes: havoc(bytes, random), step: 'havoc' }
}

function mutateSteps(seed: Seed, random: Random): { bytes: Buffer; steps: string[] } {
  let bytes = seed.bytes
  const steps: string[] = []
  for (let n = random.chance(0.75) ? 1 : random.between(2, 3); n > 0; n--) {
    const step = mutate(bytes, random)
    bytes = step.bytes
    steps.push(step.step)
  }
  return { bytes, steps }
}

export async function generateInput(corpus: Corpus, random: Random): Promise<FuzzInput> {
  const roll = random.next()
  if (roll < 0.3) return rebuiltIpa(corpus, random)
  if (roll < 0.5) {
    const seed = random.pick(corpus.seeds.filter((s) => s.target === 'ipa'))
    const bytes = random.chance(0.65) ? mutateZip(seed.bytes, random) : havoc(seed.bytes, random)
    return { target: 'ipa', bytes: random.chance(0.2) ? mutateZip(bytes, random) : bytes, recipe: `${seed.name} | zip` }
  }
  if (roll < 0.62 && corpus.envelopes.length > 0) return rewrappedEnvelope(corpus, random)
  if (roll < 0.92) {
    // A target first, then one of its seeds: small targets (device answers) get their share.
    const target = random.pick(['plist', 'profile', 'png', 'macho', 'assets-car', 'device-response', 'manifest', 'itms-link'] as const)
    const pool = corpus.seeds.filter((s) => s.target === target)
    const seed = random.pick(pool.length > 0 ? pool : corpus.seeds)
    const { bytes, steps } = mutateSteps(seed, random)
    return { target: seed.target, bytes, recipe: `${seed.name} | ${steps.join(' > ')}` }
  }
  const target = random.pick(['ipa', 'plist', 'profile', 'png', 'device-response', 'manifest', 'itms-link'] as const)
  const pool = corpus.seeds.filter((s) => s.target === target)
  const [a, b] = [random.pick(pool), random.pick(pool)]
  return { target, bytes: splice(a.bytes, b.bytes, random), recipe: `splice ${a.name} + ${b.name}` }
}

async function rebuiltIpa(corpus: Corpus, random: Random): Promise<FuzzInput> {
  const { components } = corpus
  const parts = {
    info: random.pick(components.infoPlists).bytes,
    profile: random.chance(0.85) ? random.pick(components.profiles).bytes : null,
    icon: random.chance(0.8) ? random.pick(components.icons).bytes : null,
    executable: random.chance(0.8) ? random.pick(components.executables).bytes : null,
    assetsCar: components.assetsCars.length > 0 && random.chance(0.2) ? random.pick(components.assetsCars).bytes : null,
    extension: random.chance(0.3),
    extensionInfo: undefined as Buffer | undefined,
    compress: random.chance(0.6),
  }
  const which = random.pick(['info', 'info', 'profile', 'profile', 'icon', 'icon', 'executable', 'assetsCar', 'extensionInfo'] as const)
  const original = which === 'extensionInfo' ? parts.info : parts[which]
  let steps = ['none']
  if (original) {
    const mutated = mutateSteps({ target: 'ipa', format: formatOf(original), name: which, bytes: original }, random)
    steps = mutated.steps
    if (which === 'extensionInfo') {
      parts.extension = true
      parts.extensionInfo = mutated.bytes
    } else {
      parts[which] = mutated.bytes
    }
  }
  const zip64 = random.chance(0.3)
  let bytes = await zipToBuffer(componentEntries(parts), { zip64 })
  if (random.chance(0.1)) bytes = mutateZip(bytes, random)
  return { target: 'ipa', bytes, recipe: `rebuilt ipa (${which}: ${steps.join(' > ')}${zip64 ? ', zip64' : ''}${parts.compress ? '' : ', stored'})` }
}

/** A real CMS envelope around a mutated plist: a valid structure whose content is hostile. */
function rewrappedEnvelope(corpus: Corpus, random: Random): FuzzInput {
  const envelope = random.pick(corpus.envelopes)
  try {
    const info = pkijs.ContentInfo.fromBER(new Uint8Array(envelope.bytes))
    const signed = new pkijs.SignedData({ schema: info.content })
    const content = signed.encapContentInfo.eContent?.getValue()
    const plist = content ? Buffer.from(content) : Buffer.from('<plist><dict/></plist>')
    const { bytes: mutated, steps } = mutateSteps({ target: envelope.target, format: formatOf(plist), name: 'content', bytes: plist }, random)
    signed.encapContentInfo = new pkijs.EncapsulatedContentInfo({
      eContentType: signed.encapContentInfo.eContentType,
      eContent: new asn1js.OctetString({ valueHex: new Uint8Array(mutated).buffer }),
    })
    const der = new pkijs.ContentInfo({ contentType: info.contentType, content: signed.toSchema(true) }).toSchema().toBER(false)
    return { target: envelope.target, bytes: Buffer.from(der), recipe: `${envelope.name} | cms content: ${steps.join(' > ')}` }
  } catch {
    return { target: envelope.target, bytes: mutateDer(envelope.bytes, random), recipe: `${envelope.name} | der` }
  }
}

/**
 * Every seed once as it is (the baseline), then `iterations` generated inputs. Iteration i depends
 * only on (runSeed, i), so `scripts/fuzz.ts --seed S --only i` regenerates one input alone.
 */
export async function* fuzzInputs(corpus: Corpus, runSeed: number, iterations: number, options: { seeds?: boolean; from?: number } = {}): AsyncGenerator<FuzzInput> {
  if (options.seeds !== false) for (const seed of corpus.seeds) yield { target: seed.target, bytes: seed.bytes, recipe: `${seed.name} (seed, unmutated)` }
  for (let i = options.from ?? 0; i < (options.from ?? 0) + iterations; i++) {
    const input = await generateInput(corpus, createRandom(iterationSeed(runSeed, i)))
    yield { ...input, recipe: `seed ${runSeed} iteration ${i}: ${input.recipe}` }
  }
}
