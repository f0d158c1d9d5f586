import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import { resolveBundleId } from '../notify/app-ref.ts'
import type { Output } from './output.ts'
import { findGroup, findTester, print, STORE_SETTINGS, withNotificationStores } from './notification-stores.ts'
import { addSettingFlags } from './serve.ts'

type Flags = RawSettings & { json?: boolean }

/** `airstrip groups create|list|rename|delete|add|remove|subscribe|unsubscribe`: groups of testers. */
export function registerGroups(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const groups = program.command('groups').description('manage groups of testers')
  const command = (name: string, description: string) => addSettingFlags(groups.command(name).description(description), STORE_SETTINGS)

  command('create', 'create a group')
    .argument('<name>')
    .option('--json', 'print the group as JSON')
    .action(async (name: string, flags: Flags) => {
      const group = await withNotificationStores(flags, env, ({ store }) => store.createGroup(name))
      print(output, flags.json, group, () => [`created group ${group.id} ${group.name}`])
    })

  command('list', 'list groups with their members')
    .option('--json', 'print JSON')
    .action(async (flags: Flags) => {
      const list = await withNotificationStores(flags, env, ({ store }) => store.listGroups())
      print(output, flags.json, list, () => (list.length ? list.map((g) => `${g.id}  ${g.name}  ${g.testerIds.length} tester(s)`) : ['no groups']))
    })

  command('rename', 'rename a group')
    .argument('<group>', 'id or name')
    .argument('<name>', 'new name')
    .action(async (ref: string, name: string, flags: Flags) => {
      await withNotificationStores(flags, env, async ({ store }) => store.renameGroup((await findGroup(store, ref)).id, name))
      output.stdout.write(`renamed ${ref} to ${name}\n`)
    })

  command('delete', 'delete a group (its testers stay)')
    .argument('<group>', 'id or name')
    .action(async (ref: string, flags: Flags) => {
      await withNotificationStores(flags, env, async ({ store }) => store.deleteGroup((await findGroup(store, ref)).id))
      output.stdout.write(`deleted group ${ref}\n`)
    })

  for (const [name, member] of [['add', true], ['remove', false]] as const) {
    command(name, member ? 'add testers to a group' : 'remove testers from a group')
      .argument('<group>', 'id or name')
      .argument('<testers...>', 'ids or e-mail addresses')
      .action(async (ref: string, testerRefs: string[], flags: Flags) => {
        const group = await withNotificationStores(flags, env, async ({ store }) => {
          const group = await findGroup(store, ref)
          for (const testerRef of testerRefs) await store.setGroupMember(group.id, (await findTester(store, testerRef)).id, member)
          return (await store.getGroup(group.id))!
        })
        output.stdout.write(`group ${group.name} has ${group.testerIds.length} tester(s)\n`)
      })
  }

  for (const [name, subscribe] of [['subscribe', true], ['unsubscribe', false]] as const) {
    command(name, subscribe ? "notify a group of an app's new builds" : "stop notifying a group of an app's builds")
      .argument('<group>', 'id or name')
      .requiredOption('--app <app>', 'app id or bundle id')
      .action(async (ref: string, flags: Flags & { app: string }) => {
        const bundleId = await withNotificationStores(flags, env, async ({ store, meta }) => {
          const group = await findGroup(store, ref)
          const bundleId = await resolveBundleId(meta, flags.app)
          await store.updateAppNotificationSettings(bundleId, subscribe ? { addGroupIds: [group.id] } : { removeGroupIds: [group.id] })
          return bundleId
        })
        output.stdout.write(`${subscribe ? 'subscribed' : 'unsubscribed'} group ${ref} ${subscribe ? 'to' : 'from'} ${bundleId}\n`)
      })
  }
}
