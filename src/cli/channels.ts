import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import type { ChannelServices } from '../channels/channel-services.ts'
import { isAccessMode, isChannelAccess } from '../access/access-policy.ts'
import { parseChannelName } from '../access/channel-name.ts'
import { AirstripError } from '../errors.ts'
import { resolveBundleId } from '../notify/app-ref.ts'
import type { MetaStore } from '../store/meta-store.ts'
import { withDatabase } from './open-database.ts'
import type { Output } from './output.ts'
import { print } from './notification-stores.ts'
import { addSettingFlags } from './serve.ts'

type Flags = RawSettings & { json?: boolean }

/** The settings channel commands take: where the data lives, and the public URL personal links are built from. */
export const CHANNEL_SETTINGS = ['dataDir', 'databaseUrl', 'publicUrl', 'port', 'insecureHttp', 's3Bucket', 's3Endpoint', 's3Region', 's3AccessKeyId', 's3SecretAccessKey', 's3PathStyle', 's3Prefix'] as const

/**
 * Opens the configured database and blob store (as `airstrip testers` does; SQLite's WAL lets this
 * run beside a live server) with the channel services over them, for one command. Loaded on demand.
 */
export function withChannelServices<T>(flags: RawSettings, env: Record<string, string | undefined>, work: (context: { services: ChannelServices; meta: MetaStore }) => Promise<T>): Promise<T> {
  return withDatabase(flags, env, async (db, config) => {
    const { randomBytes } = await import('node:crypto')
    const { createChannelServices } = await import('../channels/channel-services.ts')
    const { createNotificationService } = await import('../notify/notification-service.ts')
    const { createSecretBox, loadSecretBox } = await import('../notify/secret-box.ts')
    const { createPublicUrls } = await import('../ota/public-urls.ts')
    const { createUrlSigner } = await import('../ota/url-token.ts')
    const { createSqliteMetaStore } = await import('../store/meta-store.ts')
    const { createSqliteNotificationStore } = await import('../store/notifications.ts')
    const { openBlobStore } = await import('../store/open-stores.ts')
    const { sharedSecret } = await import('../store/shared-secrets.ts')
    const meta = createSqliteMetaStore(db)
    const now = () => new Date()
    const urls = createPublicUrls(config.publicUrl)
    const blobs = await openBlobStore(config.storage, config.dataDir)
    const log = { info: () => {}, warn: () => {}, debug: () => {}, error: (object: object, message: string) => void process.stderr.write(`airstrip: ${message}: ${String((object as { err?: unknown }).err)}\n`) }
    const secrets = config.storage.databaseUrl ? createSecretBox(await sharedSecret(db, 'notify-secret-box')) : await loadSecretBox(config.dataDir)
    // Events (build.deleted) go into the outbox; the server's worker delivers them. No worker runs here.
    const notifications = createNotificationService({ store: createSqliteNotificationStore(db), secrets, config: config.notify, urls, meta, blobs, now, log })
    const services = createChannelServices({
      db, meta, blobs, notifications, urls, config, now, log,
      // The CLI mints no signed links (no pages, no manifests): a throw-away key keeps it away from the server's.
      signer: createUrlSigner({ secret: randomBytes(32), now }),
    })
    const result = await work({ services, meta })
    await services.analytics.settled()
    return result
  })
}

/**
 * `airstrip channels list|set|access|invite|invites|revoke|revoke-tester|keep`: channels of an app,
 * who may install (public, password, invite-only), testers' personal links and retention rules.
 * An app is named by id or bundle id; a tester by id or e-mail address.
 */
export function registerChannels(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const channels = program.command('channels').description('manage channels, access to install (public, password, invite-only) and retention')
  const command = (name: string, description: string) => addSettingFlags(channels.command(name).description(description), CHANNEL_SETTINGS)

  command('list', "list an app's channels with their access and retention")
    .argument('<app>', 'app id or bundle id')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: Flags) => {
      const result = await withChannelServices(flags, env, async ({ services, meta }) => {
        const bundleId = await resolveBundleId(meta, ref)
        return { access: await services.access.channels.getAppAccess(bundleId), channels: await services.access.channels.listChannels(bundleId) }
      })
      print(output, flags.json, result, () => [
        `app access: ${result.access}`,
        ...result.channels.map((c) => `${c.name}  access ${c.access}  ${c.buildCount} build${c.buildCount === 1 ? '' : 's'}  retention ${retentionLabel(c.retention)}`),
      ])
    })

  command('set', 'create or change a channel')
    .argument('<app>', 'app id or bundle id')
    .argument('<channel>', 'channel name, e.g. beta')
    .option('--access <mode>', 'inherit, public, password or invite')
    .option('--password <password>', 'the channel password (with --access password)')
    .option('--keep-last <n>', 'retention: keep the newest n builds ("off": no count rule)')
    .option('--max-age-days <d>', 'retention: keep builds newer than d days ("off": no age rule)')
    .option('--json', 'print the channel as JSON')
    .action(async (ref: string, name: string, flags: Flags & { access?: string; password?: string; keepLast?: string; maxAgeDays?: string }) => {
      if (flags.access !== undefined && !isChannelAccess(flags.access)) throw new AirstripError('usage-error', '--access must be inherit, public, password or invite')
      const retention = { ...(flags.keepLast === undefined ? {} : { keepLast: ruleValue(flags.keepLast, '--keep-last') }), ...(flags.maxAgeDays === undefined ? {} : { maxAgeDays: ruleValue(flags.maxAgeDays, '--max-age-days') }) }
      const channel = await withChannelServices(flags, env, async ({ services, meta }) =>
        services.access.updateChannel(await resolveBundleId(meta, ref), parseChannelName(name), { access: flags.access as never, password: flags.password, retention }),
      )
      print(output, flags.json, channel, () => [`channel ${channel.name}: access ${channel.access}, retention ${retentionLabel(channel.retention)}`])
    })

  command('access', "set the app's own access (channels that inherit follow it)")
    .argument('<app>', 'app id or bundle id')
    .argument('<mode>', 'public, password or invite')
    .option('--password <password>', 'the app password (with password)')
    .action(async (ref: string, mode: string, flags: Flags & { password?: string }) => {
      if (!isAccessMode(mode)) throw new AirstripError('usage-error', 'the mode must be public, password or invite')
      await withChannelServices(flags, env, async ({ services, meta }) => services.access.setAppAccess(await resolveBundleId(meta, ref), mode, flags.password))
      output.stdout.write(`app access: ${mode}\n`)
    })

  command('invite', "create a tester's personal link (printed once)")
    .argument('<app>', 'app id or bundle id')
    .argument('<tester>', 'tester id or e-mail address')
    .option('--channel <channel>', 'only this channel (default: the whole app)')
    .option('--json', 'print JSON')
    .action(async (ref: string, tester: string, flags: Flags & { channel?: string }) => {
      const invite = await withChannelServices(flags, env, async ({ services, meta }) =>
        services.access.invite(await resolveBundleId(meta, ref), flags.channel === undefined ? null : parseChannelName(flags.channel), tester),
      )
      print(output, flags.json, { id: invite.grant.id, url: invite.url }, () => [invite.url])
    })

  command('invites', "list an app's personal links (not the links themselves: they are shown once)")
    .argument('<app>', 'app id or bundle id')
    .option('--json', 'print JSON')
    .action(async (ref: string, flags: Flags) => {
      const list = await withChannelServices(flags, env, async ({ services, meta }) => services.access.grants.listGrants({ bundleId: await resolveBundleId(meta, ref), kind: 'invite' }))
      print(output, flags.json, list, () =>
        list.length ? list.map((g) => `${g.id}  ${g.tester ? `${g.tester.name} <${g.tester.email}>` : g.testerId}  ${g.channel ?? '(whole app)'}  ${g.revokedAt ? `revoked ${g.revokedAt}` : 'live'}`) : ['no personal links'],
      )
    })

  command('revoke', 'revoke one personal link (it, and every link it minted, stop at once)')
    .argument('<invite>', 'invite id')
    .action(async (id: string, flags: Flags) => {
      const revoked = await withChannelServices(flags, env, ({ services }) => services.access.revokeGrant(id))
      if (!revoked) throw new AirstripError('grant-not-found', `no live invite ${JSON.stringify(id)}`)
      output.stdout.write(`revoked ${id}\n`)
    })

  command('revoke-tester', "revoke a tester's every personal link to an app")
    .argument('<app>', 'app id or bundle id')
    .argument('<tester>', 'tester id or e-mail address')
    .action(async (ref: string, tester: string, flags: Flags) => {
      const count = await withChannelServices(flags, env, async ({ services, meta }) => services.access.revokeTester(await resolveBundleId(meta, ref), tester))
      output.stdout.write(`revoked ${count} link${count === 1 ? '' : 's'}\n`)
    })

  command('keep', 'mark a build "keep" (retention never deletes it), or --off')
    .argument('<build>', 'build id')
    .option('--off', 'remove the mark')
    .action(async (id: string, flags: Flags & { off?: boolean }) => {
      const build = await withChannelServices(flags, env, ({ services }) => services.access.channels.setBuildKeep(id, !flags.off))
      if (!build) throw new AirstripError('build-not-found', `no build ${JSON.stringify(id)}`)
      output.stdout.write(`${build.id} ${build.keep ? 'kept' : 'not kept'}\n`)
    })
}

function ruleValue(value: string, flag: string): number | null {
  if (value === 'off') return null
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new AirstripError('usage-error', `${flag} takes a whole number ≥ 1, or "off"`)
  return Number(value)
}

function retentionLabel(retention: { keepLast: number | null; maxAgeDays: number | null }): string {
  const rules = [retention.keepLast === null ? null : `last ${retention.keepLast}`, retention.maxAgeDays === null ? null : `${retention.maxAgeDays} days`].filter(Boolean)
  return rules.length ? `keep ${rules.join(' and ')}` : 'off'
}
