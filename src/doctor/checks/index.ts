import type { CheckDefinition } from '../types.ts'
import { buildChecks } from './build-checks.ts'
import { hostChecks } from './host-checks.ts'
import { ipaChecks } from './ipa-checks.ts'
import { linkChecks } from './link-checks.ts'
import { manifestChecks } from './manifest-checks.ts'
import { serverChecks } from './server-checks.ts'
import { tlsChecks } from './tls-checks.ts'

/**
 * Every check, in the order the installer meets the problems: page and link, TLS, manifest, .ipa
 * transport, the build itself, then images. Ids are stable: scripts rely on them.
 */
export const CHECKS: readonly CheckDefinition[] = [
  ...linkChecks,
  ...tlsChecks,
  ...manifestChecks,
  ...hostChecks,
  ...ipaChecks.filter((check) => check.id !== 'image-unreachable' && check.id !== 'large-ipa-cellular'),
  ...buildChecks,
  ...ipaChecks.filter((check) => check.id === 'large-ipa-cellular' || check.id === 'image-unreachable'),
  ...serverChecks,
]

export const CHECK_IDS: readonly string[] = CHECKS.map((check) => check.id)
