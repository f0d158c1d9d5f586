/**
 * What each fuzz input is fed to: the parsers that read untrusted bytes — an uploaded .ipa (and
 * each parser inside it on its own), a device's enrolment answer, and what `airstrip doctor`
 * fetches from a deployment (manifests, install links). A target must resolve, or
 * reject with an AirstripError whose code is in the catalogue; anything else is a finding.
 */
import { Readable } from 'node:stream'
import { readDeviceResponse } from '../../../src/devices/device-response.ts'
import { BufferSource } from '../../../src/doctor/buffer-source.ts'
import { parseItmsLink } from '../../../src/doctor/itms-link-parse.ts'
import { readManifest } from '../../../src/doctor/manifest-read.ts'
import { AirstripError, ERROR_CODES, isAirstripError } from '../../../src/errors.ts'
import { inspectSource } from '../../../src/ipa/inspect.ts'
import { readSigningCertificate } from '../../../src/ipa/macho.ts'
import { parsePlist } from '../../../src/ipa/plist.ts'
import { normalizePng } from '../../../src/ipa/png.ts'
import { parseProvisioningProfile } from '../../../src/ipa/profile.ts'
import type { TargetName } from './corpus.ts'

/** Expiry and certificate checks run against a fixed clock, so a run is reproducible. */
const NOW = new Date('2026-06-01T00:00:00Z')

export const TARGET_FUNCTIONS: Record<TargetName, (bytes: Buffer) => Promise<unknown>> = {
  // The whole upload path's reading (what ingest and `airstrip inspect` run), hashing included.
  ipa: async (bytes) => inspectSource(new BufferSource(bytes), { now: NOW }),
  plist: async (bytes) => parsePlist(bytes, 'fuzz input'),
  profile: async (bytes) => parseProvisioningProfile(bytes),
  png: async (bytes) => normalizePng(bytes),
  macho: async (bytes) => readSigningCertificate(Readable.from([bytes], { objectMode: false })),
  'assets-car': async (bytes) => {
    const { readAssetsCarIcon } = await import('../../../src/ipa/assets-car.ts')
    return readAssetsCarIcon(bytes)
  },
  'device-response': async (bytes) => readDeviceResponse(bytes, { now: NOW }),
  // `airstrip doctor` reads these from any deployment it is pointed at.
  manifest: async (bytes) => readManifest(bytes),
  'itms-link': async (bytes) => parseItmsLink(bytes.toString('utf8'), 'attribute'),
  // The harness checks itself with inputs that misbehave on purpose (fuzz.test.ts).
  'self-test': async (bytes) => {
    const command = bytes.toString('latin1')
    if (command === 'coded') throw new AirstripError('invalid-plist')
    if (command === 'crash') throw new TypeError('a deliberate uncoded error')
    if (command === 'unhandled') void Promise.reject(new Error('a deliberate unhandled rejection'))
    if (command === 'hang') for (;;);
    if (command === 'oom') for (const hold: Buffer[] = []; ; ) hold.push(Buffer.alloc(32 * 1024 * 1024, 1))
    return command
  },
}

/** How one input ended, as the worker reports it. */
export type Outcome =
  | { kind: 'ok' }
  | { kind: 'coded'; code: string }
  | { kind: 'crash'; name: string; message: string; stack: string }

export async function runTarget(target: TargetName, bytes: Buffer): Promise<Outcome> {
  try {
    await TARGET_FUNCTIONS[target](bytes)
    return { kind: 'ok' }
  } catch (error) {
    if (isAirstripError(error) && Object.hasOwn(ERROR_CODES, error.code)) return { kind: 'coded', code: error.code }
    const e = error instanceof Error ? error : new Error(`non-Error thrown: ${String(error)}`)
    return { kind: 'crash', name: e.name, message: e.message.slice(0, 2000), stack: (e.stack ?? '').slice(0, 4000) }
  }
}
