import type { Command } from 'commander'
import type { Config, RawSettings } from '../config.ts'
import type { DeviceService } from '../devices/device-service.ts'
import { AirstripError } from '../errors.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { DeviceRecord, DeviceStore } from '../store/devices.ts'
import { withDatabase } from './open-database.ts'
import type { Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

type Flags = RawSettings & { json?: boolean }
type ScopeFlags = Flags & { app?: string; build?: string; provisioned?: boolean; missing?: boolean; tester?: string }

interface DeviceContext {
  config: Readonly<Config>
  meta: MetaStore
  store: DeviceStore
}

/**
 * `airstrip devices list|show|rename|link|unlink|delete|export|missing|invite|invites|revoke-invite|register|apple-usage`:
 * the team's enrolled devices, from the same database as the server (SQLite's WAL lets this run
 * beside it). A device is named by id or UDID.
 */
export function registerDevices(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const devices = program.command('devices').description('enrolled devices: list, rename, export for Apple, invites, App Store Connect')
  const command = (name: string, description: string, settings: string[] = ['dataDir', 'databaseUrl']) => addSettingFlags(devices.command(name).description(description), settings)
  const print = (json: boolean | undefined, value: unknown, lines: () => string[]): void => {
    output.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : lines().map((line) => `${line}\n`).join(''))
  }
  const scoped = (c: Command): Command =>
    c
      .option('--app <id>', "judge against this app's latest build")
      .option('--build <id>', 'judge against this build')
      .option('--provisioned', 'only devices the build installs on')
      .option('--missing', "only devices the build's profile misses")
      .option('--tester <tester>', 'only devices linked to this tester')
  const scopeOf = (flags: ScopeFlags) => {
    if (flags.provisioned && flags.missing) throw new AirstripError('bad-request', '--provisioned and --missing exclude each other')
    return { appId: flags.app, buildId: flags.build, provisioned: flags.provisioned ? true : flags.missing ? false : undefined, tester: flags.tester }
  }

  scoped(command('list', 'list enrolled devices (with --app/--build: whether that build installs on each)'))
    .option('--json', 'print JSON')
    .action(async (flags: ScopeFlags) => {
      const { build, devices: list } = await withDeviceStores(flags, env, async ({ meta, store }) => {
        const { devicesInScope } = await import('../devices/device-scope.ts')
        return devicesInScope({ meta, store, now: () => new Date() }, scopeOf(flags))
      })
      print(flags.json, { build: build ? { id: build.id, name: build.name, version: build.version, build: build.build } : null, devices: list }, () =>
        list.length === 0 ? ['no devices'] : list.map((d) => `${describe(d)}${d.provisioned === null ? '' : d.provisioned ? '  ✓ in profile' : '  ✗ not in profile'}`),
      )
    })

  command('show', 'show one device').argument('<device>', 'id or UDID').option('--json', 'print JSON').action(async (ref: string, flags: Flags) => {
    const device = await withDeviceStores(flags, env, ({ store }) => findDevice(store, ref))
    print(flags.json, device, () => [
      describe(device),
      `  product ${device.product ?? '?'}, iOS build ${device.osVersion ?? '?'}, serial ${device.serial ?? '?'}`,
      `  signature ${device.signatureVerified ? 'verified' : 'NOT verified'}${device.chainVerified === null ? '' : device.chainVerified ? ', chains to the device CA' : ', does not chain to the device CA'}`,
      `  first seen ${device.firstSeenAt}, last seen ${device.lastSeenAt} (${device.enrollments} enrolment${device.enrollments === 1 ? '' : 's'})`,
      `  Apple: ${device.appleRegisteredAt ? `registered ${device.appleRegisteredAt}${device.appleDeviceId ? ` (id ${device.appleDeviceId})` : ''}` : 'not registered by Airstrip'}`,
    ])
  })

  command('rename', "rename a device (--reset: back to the device's own name)")
    .argument('<device>', 'id or UDID')
    .argument('[name]', 'the new name')
    .option('--reset', "use the name the device reported")
    .action(async (ref: string, name: string | undefined, flags: Flags & { reset?: boolean }) => {
      if ((name === undefined) === !flags.reset) throw new AirstripError('bad-request', 'give a new name, or --reset')
      const { tidyDeviceName } = await import('../devices/device-names.ts')
      const customName = flags.reset ? null : tidyDeviceName(name)
      if (!flags.reset && customName === null) throw new AirstripError('bad-request', 'a device name needs at least one visible character')
      const device = await withDeviceStores(flags, env, async ({ store }) => (await store.updateDevice((await findDevice(store, ref)).id, { customName }))!)
      output.stdout.write(`${describe(device)}\n`)
    })

  command('link', 'link a device to a tester (an e-mail address or a name)').argument('<device>', 'id or UDID').argument('<tester>').action(async (ref: string, tester: string, flags: Flags) => {
    const device = await withDeviceStores(flags, env, async ({ store }) => (await store.updateDevice((await findDevice(store, ref)).id, { tester }))!)
    output.stdout.write(`${describe(device)}\n`)
  })

  command('unlink', 'unlink a device from its tester').argument('<device>', 'id or UDID').action(async (ref: string, flags: Flags) => {
    const device = await withDeviceStores(flags, env, async ({ store }) => (await store.updateDevice((await findDevice(store, ref)).id, { tester: null }))!)
    output.stdout.write(`${describe(device)}\n`)
  })

  command('delete', 'remove a device from the list (Apple keeps its registration)').argument('<device>', 'id or UDID').action(async (ref: string, flags: Flags) => {
    const device = await withDeviceStores(flags, env, async ({ store }) => {
      const found = await findDevice(store, ref)
      await store.deleteDevice(found.id)
      return found
    })
    output.stdout.write(`deleted ${describe(device)}\n`)
  })

  scoped(command('export', "write the devices in Apple's bulk-registration format"))
    .option('--format <format>', 'apple (tab-separated, for the developer portal) or deviceids (plist)', 'apple')
    .option('--output <file>', 'write to this file instead of standard output')
    .action(async (flags: ScopeFlags & { format: string; output?: string }) => {
      if (flags.format !== 'apple' && flags.format !== 'deviceids') throw new AirstripError('bad-request', `--format must be apple or deviceids (got ${flags.format})`)
      const text = await withDeviceStores(flags, env, async ({ meta, store }) => {
        const { devicesInScope } = await import('../devices/device-scope.ts')
        const { appleDeviceIdsPlist, appleDeviceList } = await import('../devices/apple-export.ts')
        const { devices: list } = await devicesInScope({ meta, store, now: () => new Date() }, scopeOf(flags))
        const exportable = list.map((d) => ({ udid: d.udid, name: d.name, modelName: d.modelName, family: d.family as 'iphone' }))
        return flags.format === 'apple' ? appleDeviceList(exportable) : appleDeviceIdsPlist(exportable)
      })
      if (flags.output) {
        const { writeFileAtomic } = await import('../tls/atomic-file.ts')
        await writeFileAtomic(flags.output, text, 0o644)
        output.stderr.write(`wrote ${flags.output}\n`)
      } else output.stdout.write(text)
    })

  command('missing', "which enrolled devices a build's profile misses").argument('<build>', 'build id').option('--json', 'print JSON').action(async (buildId: string, flags: Flags) => {
    const report = await withDeviceStores(flags, env, async ({ meta, store }) => {
      const build = await meta.getBuild(buildId)
      if (!build) throw new AirstripError('build-not-found')
      const { missingDevicesReport } = await import('../devices/device-scope.ts')
      return missingDevicesReport(build, await store.listDevices(), new Date())
    })
    print(flags.json, report, () => [report.summary, ...report.missing.map((d) => `  ${describe(d)}`)])
  })

  command('invite', 'create a personal enrolment link for a tester', ['dataDir', 'databaseUrl', 'publicUrl', 'port'])
    .argument('<tester>', 'an e-mail address or a name')
    .option('--json', 'print JSON')
    .action(async (tester: string, flags: Flags) => {
      const created = await withDeviceStores(flags, env, async ({ config, store }) => {
        const { createPublicUrls } = await import('../ota/public-urls.ts')
        const { createEnrollmentUrls } = await import('../devices/enrollment-urls.ts')
        const { invite, token } = await store.createInvite(tester)
        return { ...invite, url: createEnrollmentUrls(createPublicUrls(config.publicUrl)).invitePage(token) }
      })
      print(flags.json, created, () => [created.url])
      if (!flags.json) output.stderr.write(`Enrolment link for ${created.tester} (id ${created.id}). It is shown only now; devices enrolled through it are linked to ${created.tester}.\n`)
    })

  command('invites', 'list personal enrolment links (never their secrets)').option('--json', 'print JSON').action(async (flags: Flags) => {
    const invites = await withDeviceStores(flags, env, ({ store }) => store.listInvites())
    print(flags.json, invites, () => (invites.length ? invites.map((i) => `${i.id}  ${i.tester}  created ${i.createdAt}  last used ${i.lastUsedAt ?? 'never'}`) : ['no enrolment links']))
  })

  command('revoke-invite', 'revoke a personal enrolment link').argument('<id>').action(async (id: string, flags: Flags) => {
    if (!(await withDeviceStores(flags, env, ({ store }) => store.deleteInvite(id)))) throw new AirstripError('invite-not-found')
    output.stdout.write(`revoked ${id}\n`)
  })

  const ascSettings = ['dataDir', 'databaseUrl', 'ascIssuerId', 'ascKeyId', 'ascKey']
  command('register', 'register devices with Apple through the App Store Connect API', ascSettings)
    .argument('<devices...>', 'ids or UDIDs')
    .option('--json', 'print JSON')
    .action(async (refs: string[], flags: Flags) => {
      const results = await withDeviceStores(flags, env, async ({ config, store }) => {
        const service = await appleService(config, store)
        const ids = await Promise.all(refs.map(async (ref) => (await findDevice(store, ref)).id))
        return service.registerWithApple(ids)
      })
      print(flags.json, results, () => results.map((r) => `${r.status.padEnd(18)} ${r.udid ?? r.id}  ${r.name ?? ''}${r.message ? `  (${r.message})` : ''}`))
    })

  command('apple-usage', "the App Store Connect account's devices per family against Apple's yearly limit", ascSettings).option('--json', 'print JSON').action(async (flags: Flags) => {
    const usage = await withDeviceStores(flags, env, async ({ config, store }) => (await appleService(config, store)).appleUsage())
    print(flags.json, usage, () => [...usage.families.map((f) => `${f.deviceClass.padEnd(16)} ${String(f.count).padStart(4)} of ${f.limit} (${f.remaining} left)`), usage.note])
  })
}

/** The device and meta stores over the configured database, for one command. */
function withDeviceStores<T>(flags: RawSettings, env: Record<string, string | undefined>, work: (context: DeviceContext) => Promise<T>): Promise<T> {
  return withDatabase(flags, env, async (db, config) => {
    const { createSqliteMetaStore } = await import('../store/meta-store.ts')
    const { createSqlDeviceStore } = await import('../store/devices.ts')
    return work({ config, meta: createSqliteMetaStore(db), store: createSqlDeviceStore(db) })
  })
}

/** The device service with App Store Connect, for `register` and `apple-usage` (no signing, no server). */
async function appleService(config: Readonly<Config>, store: DeviceStore): Promise<Pick<DeviceService, 'registerWithApple' | 'appleUsage'>> {
  const { createDeviceService } = await import('../devices/device-service.ts')
  const { createPublicUrls } = await import('../ota/public-urls.ts')
  const { createUrlSigner } = await import('../ota/url-token.ts')
  const { randomBytes } = await import('node:crypto')
  // Registration mints no links: a throw-away signing secret will do.
  return createDeviceService({ config: config.devices, store, signer: createUrlSigner({ secret: randomBytes(32), now: () => new Date() }), urls: createPublicUrls(config.publicUrl), now: () => new Date(), profileSigning: () => null })
}

async function findDevice(store: DeviceStore, ref: string): Promise<DeviceRecord> {
  const { normalizeUdid } = await import('../devices/udid.ts')
  const udid = normalizeUdid(ref)
  const device = (await store.getDevice(ref)) ?? (udid ? await store.getDeviceByUdid(udid) : null)
  if (!device) throw new AirstripError('device-not-found', `no device with id or UDID ${JSON.stringify(ref)}`)
  return device
}

function describe(device: DeviceRecord): string {
  return `${device.id}  ${device.udid}  ${device.name}${device.modelName ? ` (${device.modelName})` : ''}${device.tester ? `  → ${device.tester}` : ''}`
}
