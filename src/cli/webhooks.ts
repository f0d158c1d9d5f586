import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import { AirstripError } from '../errors.ts'
import { resolveBundleId } from '../notify/app-ref.ts'
import { registerWebhook } from '../notify/webhook-registration.ts'
import type { WebhookFormat } from '../store/notification-records.ts'
import type { Output } from './output.ts'
import { print, STORE_SETTINGS, withNotificationStores } from './notification-stores.ts'
import { addSettingFlags } from './serve.ts'

type Flags = RawSettings & { json?: boolean }

/**
 * `airstrip webhooks add|list|remove`. The secret is printed once, at `add`; it is stored
 * encrypted with the data dir's key, so the server (same data dir) can sign with it.
 */
export function registerWebhooks(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const webhooks = program.command('webhooks').description('manage per-app webhooks (build.created, build.deleted, device.enrolled, install.started, install.completed)')

  addSettingFlags(webhooks.command('add').description('add a webhook and print its signing secret once'), [...STORE_SETTINGS, 'webhookAllowPrivateNetworks'])
    .requiredOption('--app <app>', 'app id or bundle id')
    .requiredOption('--url <url>', 'where to POST')
    .option('--format <format>', 'json (signed Airstrip events), slack or teams', 'json')
    .option('--events <list>', 'comma-separated events (default: all)')
    .option('--json', 'print the webhook (with its secret) as JSON')
    .action(async (flags: Flags & { app: string; url: string; format: string; events?: string }) => {
      const created = await withNotificationStores(flags, env, async ({ store, meta, secrets, config }) =>
        registerWebhook(
          store,
          secrets,
          { bundleId: await resolveBundleId(meta, flags.app), url: flags.url, format: flags.format as WebhookFormat, events: flags.events?.split(',').map((e) => e.trim()).filter(Boolean) },
          { allowPrivateNetworks: config.notify.webhookAllowPrivateNetworks },
        ),
      )
      if (flags.json) {
        output.stdout.write(`${JSON.stringify({ ...created.webhook, secret: created.secret }, null, 2)}\n`)
        return
      }
      output.stdout.write(`${created.secret}\n`)
      output.stderr.write(`Webhook ${created.webhook.id} (${created.webhook.format}: ${created.webhook.events.join(', ')}) added for ${created.webhook.bundleId}. The secret above is shown only now; verify X-Airstrip-Signature with it.\n`)
    })

  addSettingFlags(webhooks.command('list').description('list webhooks (never their secrets)'), STORE_SETTINGS)
    .option('--app <app>', 'only this app (id or bundle id)')
    .option('--json', 'print JSON')
    .action(async (flags: Flags & { app?: string }) => {
      const list = await withNotificationStores(flags, env, async ({ store, meta }) => store.listWebhooks(flags.app === undefined ? undefined : await resolveBundleId(meta, flags.app)))
      print(output, flags.json, list, () => (list.length ? list.map((w) => `${w.id}  ${w.bundleId}  ${w.format}  ${w.events.join(',')}  ${w.url}`) : ['no webhooks']))
    })

  addSettingFlags(webhooks.command('remove').description('delete a webhook').argument('<id>'), STORE_SETTINGS).action(async (id: string, flags: Flags) => {
    const removed = await withNotificationStores(flags, env, ({ store }) => store.deleteWebhook(id))
    if (!removed) throw new AirstripError('webhook-not-found', `no webhook ${id}`)
    output.stdout.write(`removed webhook ${id}\n`)
  })
}
