import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import { resolveBundleId } from '../notify/app-ref.ts'
import type { Output } from './output.ts'
import { collect, findGroup, findTester, print, STORE_SETTINGS, withNotificationStores } from './notification-stores.ts'
import { addSettingFlags } from './serve.ts'

type Flags = RawSettings & { json?: boolean }

/**
 * `airstrip testers add|list|update|remove|subscribe|unsubscribe`: the people notified of new
 * builds. A tester is named by id or e-mail address; an app by id or bundle id.
 */
export function registerTesters(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const testers = program.command('testers').description('manage testers (who is told about new builds)')
  const command = (name: string, description: string) => addSettingFlags(testers.command(name).description(description), STORE_SETTINGS)

  command('add', 'add a tester')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--email <address>', 'e-mail address')
    .option('--phone <number>', 'mobile number in international form (+44…), for SMS')
    .option('--group <group>', 'also add to this group (id or name; repeatable)', collect)
    .option('--app <app>', 'also notify them of this app (id or bundle id; repeatable)', collect)
    .option('--json', 'print the tester as JSON')
    .action(async (flags: Flags & { name: string; email: string; phone?: string; group?: string[]; app?: string[] }) => {
      const tester = await withNotificationStores(flags, env, async ({ store, meta }) => {
        const created = await store.createTester({ name: flags.name, email: flags.email, phone: flags.phone ?? null })
        for (const ref of flags.group ?? []) await store.setGroupMember((await findGroup(store, ref)).id, created.id, true)
        for (const ref of flags.app ?? []) await store.updateAppNotificationSettings(await resolveBundleId(meta, ref), { addTesterIds: [created.id] })
        return (await store.getTester(created.id))!
      })
      print(output, flags.json, tester, () => [`added tester ${tester.id} ${tester.name} <${tester.email}>`])
    })

  command('list', 'list testers')
    .option('--json', 'print JSON')
    .action(async (flags: Flags) => {
      const list = await withNotificationStores(flags, env, ({ store }) => store.listTesters())
      print(output, flags.json, list, () => (list.length ? list.map((t) => `${t.id}  ${t.name} <${t.email}>${t.phone ? `  ${t.phone}` : ''}${t.groupIds.length ? `  groups ${t.groupIds.join(',')}` : ''}`) : ['no testers']))
    })

  command('update', 'change a tester')
    .argument('<tester>', 'id or e-mail address')
    .option('--name <name>')
    .option('--email <address>')
    .option('--phone <number>', 'new number; "" removes it')
    .option('--json', 'print the tester as JSON')
    .action(async (ref: string, flags: Flags & { name?: string; email?: string; phone?: string }) => {
      const tester = await withNotificationStores(flags, env, async ({ store }) => {
        const found = await findTester(store, ref)
        return (await store.updateTester(found.id, { name: flags.name, email: flags.email, ...(flags.phone === undefined ? {} : { phone: flags.phone || null }) }))!
      })
      print(output, flags.json, tester, () => [`updated tester ${tester.id} ${tester.name} <${tester.email}>${tester.phone ? ` ${tester.phone}` : ''}`])
    })

  command('remove', 'delete a tester (and their group memberships and subscriptions)')
    .argument('<tester>', 'id or e-mail address')
    .action(async (ref: string, flags: Flags) => {
      const tester = await withNotificationStores(flags, env, async ({ store }) => {
        const found = await findTester(store, ref)
        await store.deleteTester(found.id)
        return found
      })
      output.stdout.write(`removed tester ${tester.id} <${tester.email}>\n`)
    })

  for (const [name, subscribe] of [['subscribe', true], ['unsubscribe', false]] as const) {
    command(name, subscribe ? "notify a tester of an app's new builds" : "stop notifying a tester of an app's builds")
      .argument('<tester>', 'id or e-mail address')
      .requiredOption('--app <app>', 'app id or bundle id')
      .action(async (ref: string, flags: Flags & { app: string }) => {
        const bundleId = await withNotificationStores(flags, env, async ({ store, meta }) => {
          const tester = await findTester(store, ref)
          const bundleId = await resolveBundleId(meta, flags.app)
          await store.updateAppNotificationSettings(bundleId, subscribe ? { addTesterIds: [tester.id] } : { removeTesterIds: [tester.id] })
          return bundleId
        })
        output.stdout.write(`${subscribe ? 'subscribed' : 'unsubscribed'} ${ref} ${subscribe ? 'to' : 'from'} ${bundleId}\n`)
      })
  }
}
