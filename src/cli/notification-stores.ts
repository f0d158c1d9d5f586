import { join } from 'node:path'
import type { Config, RawSettings } from '../config.ts'
import { AirstripError } from '../errors.ts'
import type { SecretBox } from '../notify/secret-box.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { NotificationStore } from '../store/notifications.ts'
import { withDatabase } from './open-database.ts'
import type { Output } from './output.ts'

export interface NotificationContext {
  config: Readonly<Config>
  meta: MetaStore
  store: NotificationStore
  secrets: SecretBox
}

/** The notification and meta stores over the configured database (see `withDatabase`), for one notification command. */
export function withNotificationStores<T>(flags: RawSettings, env: Record<string, string | undefined>, work: (context: NotificationContext) => Promise<T>): Promise<T> {
  return withDatabase(flags, env, async (db, config) => {
    const { createSqliteMetaStore } = await import('../store/meta-store.ts')
    const { createSqliteNotificationStore } = await import('../store/notifications.ts')
    const { sharedSecret } = await import('../store/shared-secrets.ts')
    const { createSecretBox, loadSecretBox } = await import('../notify/secret-box.ts')
    // The same sealing key the server uses: in the database with PostgreSQL, else in the data dir.
    const secrets = config.storage.databaseUrl ? createSecretBox(await sharedSecret(db, 'notify-secret-box')) : await loadSecretBox(config.dataDir)
    return work({ config, meta: createSqliteMetaStore(db), store: createSqliteNotificationStore(db), secrets })
  })
}

/** The settings every notification command takes: where the data lives. */
export const STORE_SETTINGS = ['dataDir', 'databaseUrl'] as const

/** A tester by id or e-mail address, or `tester-not-found`. */
export async function findTester(store: NotificationStore, ref: string) {
  const tester = await store.getTester(ref)
  if (!tester) throw new AirstripError('tester-not-found', `no tester with id or e-mail ${JSON.stringify(ref)}`)
  return tester
}

/** A group by id or name, or `group-not-found`. */
export async function findGroup(store: NotificationStore, ref: string) {
  const group = await store.getGroup(ref)
  if (!group) throw new AirstripError('group-not-found', `no group with id or name ${JSON.stringify(ref)}`)
  return group
}

/** Prints `value` as JSON, or each line of `lines()` for people. */
export function print(output: Output, json: boolean | undefined, value: unknown, lines: () => string[]): void {
  output.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : lines().map((line) => `${line}\n`).join(''))
}

/** Commander collector for repeatable options (`--app a --app b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}
