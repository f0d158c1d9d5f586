import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import { resolveBundleId } from '../notify/app-ref.ts'
import type { RetentionReport } from '../channels/retention-runner.ts'
import { CHANNEL_SETTINGS, withChannelServices } from './channels.ts'
import { print } from './notification-stores.ts'
import { formatBytes, type Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

/**
 * `airstrip retention run [--dry-run] [--app <app>]`: applies every channel's retention rule now
 * (set with `airstrip channels set … --keep-last/--max-age-days`); the server also runs it
 * periodically (--retention-interval). A dry run lists what would go and deletes nothing.
 */
export function registerRetention(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const retention = program.command('retention').description("apply channels' retention rules (keep the last N builds and/or builds newer than D days)")
  addSettingFlags(retention.command('run').description('delete the builds retention rules let go, and blobs no build references any more'), CHANNEL_SETTINGS)
    .option('--dry-run', 'only list what would be deleted')
    .option('--app <app>', 'only this app (id or bundle id)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: RawSettings & { dryRun?: boolean; app?: string; json?: boolean }) => {
      const report = await withChannelServices(flags, env, async ({ services, meta }) =>
        services.runRetention({ dryRun: flags.dryRun === true, bundleId: flags.app === undefined ? undefined : await resolveBundleId(meta, flags.app) }),
      )
      print(output, flags.json, report, () => describeReport(report))
    })
}

function describeReport(report: RetentionReport): string[] {
  const verb = report.dryRun ? 'would delete' : 'deleted'
  const lines = report.channels.flatMap((channel) => [
    `${channel.bundleId} ${channel.channel}: keeps ${channel.kept}, ${verb} ${channel.deleted.length}`,
    ...channel.deleted.map((build) => `  ${build.id}  ${build.version ?? '?'} (${build.build ?? '?'})  ${build.createdAt}  ${formatBytes(build.size)}`),
  ])
  if (report.channels.length === 0) lines.push('no channel has a retention rule')
  lines.push(`${report.dryRun ? 'dry run: ' : ''}${verb} ${report.deletedBuilds} build${report.deletedBuilds === 1 ? '' : 's'}, ${formatBytes(report.freedBytes)} of .ipa files ${report.dryRun ? 'would be freed' : 'freed'}`)
  return lines
}
