import { writeFile, rename } from 'node:fs/promises'
import type { Command } from 'commander'
import { inspectIpa } from '../ipa/inspect.ts'
import type { IpaInfo } from '../ipa/types.ts'
import { formatBytes, type Output } from './output.ts'

const FAMILY_NAMES = { iphone: 'iPhone', ipad: 'iPad', tv: 'Apple TV', watch: 'Apple Watch', mac: 'Mac', vision: 'Apple Vision' } as const

/** `airstrip inspect <file.ipa> [--json] [--icon out.png] [--now <ISO date>]` */
export function registerInspect(program: Command, output: Output, setExitCode: (code: number) => void): void {
  program
    .command('inspect')
    .description('read everything in an .ipa (Info.plist, provisioning profile, signature, icon, extensions) without unpacking it')
    .argument('<file>', 'the .ipa to inspect')
    .option('--json', 'print the result as JSON')
    .option('--icon <out.png>', 'write the best app icon as a standard PNG')
    .option('--now <date>', 'evaluate expiry against this ISO 8601 date instead of the current time')
    .option('--no-hash', 'skip the SHA-256 of the whole file (faster on huge archives)')
    .action(async (file: string, options: { json?: boolean; icon?: string; now?: string; hash: boolean }) => {
      const now = options.now === undefined ? new Date() : new Date(options.now)
      if (Number.isNaN(now.getTime())) {
        output.stderr.write(`airstrip: --now "${options.now}" is not an ISO 8601 date\n`)
        return setExitCode(64)
      }
      const { info, iconPng } = await inspectIpa(file, { now, ...(options.hash ? {} : { sha256: null }) })
      if (options.icon) {
        if (!iconPng) {
          output.stderr.write(`airstrip: no icon written: ${info.problems.find((p) => p.code === 'icon-missing')?.message ?? 'no icon'}\n`)
        } else {
          // Temp file + rename: a reader never sees half an icon.
          const temp = `${options.icon}.${process.pid}.tmp`
          await writeFile(temp, iconPng, { flush: true })
          await rename(temp, options.icon)
        }
      }
      output.stdout.write(options.json ? `${JSON.stringify(info, null, 2)}\n` : formatSummary(info))
    })
}

/** The readable summary: what a release manager checks before sending a link. */
export function formatSummary(info: IpaInfo): string {
  const lines: string[] = []
  const row = (label: string, value: string): void => void lines.push(`  ${label.padEnd(13)}${value}`)
  lines.push(`${info.name} ${info.version ?? '?'} (${info.build ?? '?'})`)
  row('bundle id', info.bundleId)
  row('runs on', `${info.deviceFamily.map((f) => FAMILY_NAMES[f]).join(', ') || 'unknown'}${info.minimumOSVersion ? ` · iOS ${info.minimumOSVersion}+` : ''} · ${info.platform}`)
  row('size', `${formatBytes(info.size)}${info.sha256 ? ` · sha256 ${info.sha256}` : ''}`)
  const p = info.profile
  if (p) {
    const devices = p.provisionsAllDevices ? 'all devices' : p.kind === 'app-store' ? 'no devices' : `${p.provisionedDevices.length} device${p.provisionedDevices.length === 1 ? '' : 's'}`
    row('signing', `${p.kind} · "${p.name ?? p.uuid}" · ${p.teamName ?? '?'} (${p.teamId ?? '?'}) · ${devices} · expires ${p.expiresAt?.slice(0, 10) ?? '?'}`)
  } else {
    row('signing', 'none (no embedded.mobileprovision)')
  }
  const c = info.signingCertificate
  row('certificate', c ? `${c.subject} · expires ${c.notAfter.slice(0, 10)} · SHA-1 ${c.sha1}` : 'none read')
  row('icon', info.icon ? `${info.icon.width}×${info.icon.height}${info.icon.wasCgbi ? ' (converted from CgBI)' : ''} · ${info.icon.sourcePath}` : 'none')
  for (const [index, e] of info.extensions.entries()) {
    row(index === 0 ? 'extensions' : '', `${e.bundleId ?? e.path} (${e.type}${e.profile ? `, ${e.profile.kind}` : ', no profile'})`)
  }
  if (info.problems.length === 0) lines.push('no problems found')
  else {
    lines.push('problems')
    for (const problem of info.problems) lines.push(`  ${problem.severity.padEnd(8)}${problem.code}: ${problem.message}`)
  }
  return `${lines.join('\n')}\n`
}
