import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import { AirstripError } from '../errors.ts'
import { resolveBundleId } from '../notify/app-ref.ts'
import { CHANNELS, DELIVERY_STATUSES, NOTIFY_ON_UPLOAD, type Channel, type DeliveryStatus, type NotifyOnUpload } from '../store/notification-records.ts'
import type { Output } from './output.ts'
import { print, STORE_SETTINGS, withNotificationStores } from './notification-stores.ts'
import { addSettingFlags } from './serve.ts'

type Flags = RawSettings & { json?: boolean }

/** `airstrip notifications show|set|deliveries|retry`: per-app settings and the delivery outbox. */
export function registerNotifications(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const notifications = program.command('notifications').description("per-app notification settings and delivery status")
  const command = (name: string, description: string) => addSettingFlags(notifications.command(name).description(description), STORE_SETTINGS)

  command('show', 'who is notified of an app, and when')
    .requiredOption('--app <app>', 'app id or bundle id')
    .option('--json', 'print JSON')
    .action(async (flags: Flags & { app: string }) => {
      const settings = await withNotificationStores(flags, env, async ({ store, meta }) => store.getAppNotificationSettings(await resolveBundleId(meta, flags.app)))
      print(output, flags.json, settings, () => [
        `${settings.bundleId}: notify on upload ${settings.notifyOnUpload}`,
        `testers: ${settings.testerIds.join(', ') || 'none'}`,
        `groups:  ${settings.groupIds.join(', ') || 'none'}`,
      ])
    })

  command('set', "change an app's default")
    .requiredOption('--app <app>', 'app id or bundle id')
    .requiredOption('--on-upload <when>', `always (every upload) or on-request (uploads sent with notify=true)`)
    .action(async (flags: Flags & { app: string; onUpload: string }) => {
      if (!(NOTIFY_ON_UPLOAD as readonly string[]).includes(flags.onUpload)) throw new AirstripError('bad-request', `--on-upload must be one of ${NOTIFY_ON_UPLOAD.join(', ')}`)
      const settings = await withNotificationStores(flags, env, async ({ store, meta }) =>
        store.updateAppNotificationSettings(await resolveBundleId(meta, flags.app), { notifyOnUpload: flags.onUpload as NotifyOnUpload }),
      )
      output.stdout.write(`${settings.bundleId}: notify on upload ${settings.notifyOnUpload}\n`)
    })

  command('deliveries', 'list deliveries, newest first')
    .option('--status <status>', DELIVERY_STATUSES.join(', '))
    .option('--channel <channel>', CHANNELS.join(', '))
    .option('--app <app>', 'app id or bundle id')
    .option('--build <id>', 'deliveries about this build')
    .option('--limit <n>', 'how many (1-200)', '50')
    .option('--json', 'print JSON')
    .action(async (flags: Flags & { status?: string; channel?: string; app?: string; build?: string; limit: string }) => {
      if (flags.status && !(DELIVERY_STATUSES as readonly string[]).includes(flags.status)) throw new AirstripError('bad-request', `--status must be one of ${DELIVERY_STATUSES.join(', ')}`)
      if (flags.channel && !(CHANNELS as readonly string[]).includes(flags.channel)) throw new AirstripError('bad-request', `--channel must be one of ${CHANNELS.join(', ')}`)
      const page = await withNotificationStores(flags, env, async ({ store, meta }) =>
        store.listDeliveries({
          status: flags.status as DeliveryStatus | undefined,
          channel: flags.channel as Channel | undefined,
          bundleId: flags.app === undefined ? undefined : await resolveBundleId(meta, flags.app),
          subjectId: flags.build,
          limit: Number(flags.limit) || 50,
        }),
      )
      print(output, flags.json, page, () =>
        page.deliveries.length
          ? page.deliveries.map((d) => `${d.id}  ${d.status.padEnd(9)} ${d.channel.padEnd(7)} ${d.eventType}  ${d.recipient}  attempts ${d.attempts}${d.lastError ? `  last error: ${d.lastError}` : ''}`)
          : ['no deliveries'],
      )
    })

  command('retry', 'send a failed or cancelled delivery again (a running server picks it up within seconds)')
    .argument('<delivery>', 'delivery id')
    .action(async (id: string, flags: Flags) => {
      const delivery = await withNotificationStores(flags, env, ({ store }) => store.retryDelivery(id))
      if (!delivery) throw new AirstripError('delivery-not-found', `no delivery ${id}`)
      output.stdout.write(`delivery ${id} is pending again\n`)
    })
}
