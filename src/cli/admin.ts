import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import type { AccountService } from '../accounts/account-service.ts'
import { AirstripError } from '../errors.ts'
import { withDatabase } from './open-database.ts'
import type { Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

type PasswordFlags = { passwordFile?: string }

/**
 * `airstrip admin create|list|reset-password`: accounts of the admin web UI, on the configured
 * database (beside a running server too). The password comes from `--password-file`, else
 * AIRSTRIP_ADMIN_PASSWORD, else a random one is made and printed once.
 */
export function registerAdmin(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const admin = program.command('admin').description('manage admin web UI accounts (users, roles, passwords)')
  const withAccounts = <T>(flags: RawSettings, work: (accounts: AccountService) => Promise<T>): Promise<T> =>
    withDatabase(flags, env, async (db) => {
      const { createSqlAccountStore } = await import('../store/accounts.ts')
      const { createAccountService } = await import('../accounts/account-service.ts')
      return work(createAccountService({ store: createSqlAccountStore(db), now: () => new Date() }))
    })
  const passwordFrom = async (flags: PasswordFlags): Promise<{ password: string; generated: boolean }> => {
    if (flags.passwordFile) return { password: (await readFile(flags.passwordFile, 'utf8')).replace(/\r?\n$/, ''), generated: false }
    const fromEnv = env['AIRSTRIP_ADMIN_PASSWORD']
    if (fromEnv) return { password: fromEnv, generated: false }
    const { generatePassword } = await import('../accounts/password.ts')
    return { password: generatePassword(), generated: true }
  }
  const settings = ['dataDir', 'databaseUrl']

  addSettingFlags(
    admin
      .command('create')
      .description('create a user (an admin unless --role says otherwise) and print a generated password once')
      .requiredOption('--email <email>', 'the sign-in address')
      .option('--name <name>', 'display name (default: the address)')
      .option('--role <role>', 'admin, developer or viewer', 'admin')
      .option('--password-file <file>', 'read the password from this file (else AIRSTRIP_ADMIN_PASSWORD, else generated)'),
    settings,
  ).action(async (flags: RawSettings & PasswordFlags & { email: string; name?: string; role: string }) => {
    const { isRole } = await import('../accounts/roles.ts')
    if (!isRole(flags.role)) throw new AirstripError('usage-error', `--role must be admin, developer or viewer, not "${flags.role}"`)
    const { password, generated } = await passwordFrom(flags)
    const user = await withAccounts(flags, (accounts) => accounts.createUser({ email: flags.email, name: flags.name ?? '', role: flags.role as 'admin', password }))
    output.stderr.write(`Created ${user.role} ${user.email} (id ${user.id}).${generated ? ' Its password is shown only now:' : ''}\n`)
    if (generated) output.stdout.write(`${password}\n`)
  })

  addSettingFlags(admin.command('list').description('list users (never their passwords)'), settings).action(async (flags: RawSettings) => {
    const users = await withAccounts(flags, (accounts) => accounts.store.listUsers())
    for (const u of users) output.stdout.write(`${u.id}  ${u.email}  ${u.role}  ${u.name}  last sign-in ${u.lastLoginAt ?? 'never'}\n`)
  })

  addSettingFlags(
    admin
      .command('reset-password')
      .description('set a new password for a user (signs them out everywhere); prints a generated one once')
      .requiredOption('--email <email>', 'the user')
      .option('--password-file <file>', 'read the password from this file (else AIRSTRIP_ADMIN_PASSWORD, else generated)'),
    settings,
  ).action(async (flags: RawSettings & PasswordFlags & { email: string }) => {
    const { password, generated } = await passwordFrom(flags)
    await withAccounts(flags, async (accounts) => {
      const found = await accounts.store.findCredentials(flags.email)
      if (!found) throw new AirstripError('user-not-found', `no user ${flags.email}`)
      await accounts.setPassword(found.user.id, password)
    })
    output.stderr.write(`Password of ${flags.email} reset.${generated ? ' The new one is shown only now:' : ''}\n`)
    if (generated) output.stdout.write(`${password}\n`)
  })
}
