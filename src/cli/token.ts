import type { Command } from 'commander'
import { loadConfig, type RawSettings } from '../config.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

/** `airstrip token create|list|revoke`: API tokens for CI. Only a hash is stored; the token is shown once. */
export function registerToken(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const token = program.command('token').description('manage API tokens for CI uploads')
  const withStore = async <T>(flags: RawSettings, work: (meta: MetaStore) => Promise<T>): Promise<T> => {
    const config = loadConfig(flags, env)
    const { openDatabase } = await import('../store/database.ts')
    const { createSqliteMetaStore } = await import('../store/meta-store.ts')
    const { databaseLocation } = await import('../store/open-stores.ts')
    const meta = createSqliteMetaStore(await openDatabase(databaseLocation(config.storage, config.dataDir)))
    try {
      return await work(meta)
    } finally {
      await meta.close()
    }
  }
  addSettingFlags(token.command('create').description('create a token and print it once').requiredOption('--name <name>', 'what the token is for, e.g. "github-actions"'), ['dataDir', 'databaseUrl']).action(
    async (flags: RawSettings & { name: string }) => {
      const created = await withStore(flags, (meta) => meta.createApiToken(flags.name))
      output.stdout.write(`${created.token}\n`)
      output.stderr.write(`Token "${flags.name}" (id ${created.id}) created. It is shown only now; use it as "Authorization: Bearer <token>".\n`)
    },
  )
  addSettingFlags(token.command('list').description('list tokens (never their values)'), ['dataDir', 'databaseUrl']).action(async (flags: RawSettings) => {
    const tokens = await withStore(flags, (meta) => meta.listApiTokens())
    for (const t of tokens) output.stdout.write(`${t.id}  ${t.name}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}\n`)
  })
  addSettingFlags(token.command('revoke').description('revoke a token by id').argument('<id>'), ['dataDir', 'databaseUrl']).action(async (id: string, flags: RawSettings) => {
    const revoked = await withStore(flags, (meta) => meta.revokeApiToken(id))
    output.stdout.write(revoked ? `revoked ${id}\n` : `no token ${id}\n`)
  })
}
