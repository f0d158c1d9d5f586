import type { Command } from 'commander'
import type { RawSettings } from '../config.ts'
import { AirstripError } from '../errors.ts'
import type { MetaStore } from '../store/meta-store.ts'
import { withDatabase } from './open-database.ts'
import type { Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

/** `airstrip token create|list|revoke`: API tokens for CI. Only a hash is stored; the token is shown once. */
export function registerToken(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const token = program.command('token').description('manage API tokens for CI uploads')
  const withStore = <T>(flags: RawSettings, work: (meta: MetaStore) => Promise<T>): Promise<T> =>
    withDatabase(flags, env, async (db) => {
      const { createSqliteMetaStore } = await import('../store/meta-store.ts')
      return work(createSqliteMetaStore(db))
    })
  addSettingFlags(
    token
      .command('create')
      .description('create a token and print it once')
      .requiredOption('--name <name>', 'what the token is for, e.g. "github-actions"')
      .option('--scope <scope>', 'full (the whole API) or upload (POST /api/v1/builds only)', 'full')
      .option('--app <bundleId>', 'upload-only tokens: only this app'),
    ['dataDir', 'databaseUrl'],
  ).action(
    async (flags: RawSettings & { name: string; scope: string; app?: string }) => {
      if (flags.scope !== 'full' && flags.scope !== 'upload') throw new AirstripError('usage-error', `--scope must be full or upload, not "${flags.scope}"`)
      if (flags.app && flags.scope !== 'upload') throw new AirstripError('usage-error', '--app needs --scope upload')
      const created = await withStore(flags, (meta) => meta.createApiToken(flags.name, { scope: flags.scope as 'full' | 'upload', bundleId: flags.app ?? null }))
      output.stdout.write(`${created.token}\n`)
      output.stderr.write(`Token "${flags.name}" (id ${created.id}) created. It is shown only now; use it as "Authorization: Bearer <token>".\n`)
    },
  )
  addSettingFlags(token.command('list').description('list tokens (never their values)'), ['dataDir', 'databaseUrl']).action(async (flags: RawSettings) => {
    const tokens = await withStore(flags, (meta) => meta.listApiTokens())
    for (const t of tokens) output.stdout.write(`${t.id}  ${t.name}  ${t.scope}${t.bundleId ? ` (${t.bundleId})` : ''}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}\n`)
  })
  addSettingFlags(token.command('revoke').description('revoke a token by id').argument('<id>'), ['dataDir', 'databaseUrl']).action(async (id: string, flags: RawSettings) => {
    const revoked = await withStore(flags, (meta) => meta.revokeApiToken(id))
    output.stdout.write(revoked ? `revoked ${id}\n` : `no token ${id}\n`)
  })
}
