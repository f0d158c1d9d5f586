import { join } from 'node:path'
import { loadConfig, type Config, type RawSettings } from '../config.ts'
import { AirstripError } from '../errors.ts'
import type { SecretBox } from '../notify/secret-box.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { NotificationStore } from '../store/notifications.ts'
import type { Output } from './output.ts'

export interface NotificationContext {
  config: Readonly<Config>
  meta: MetaStore
  store: NotificationStore
  secrets: SecretBox
}

/**
 * Opens the configured database (as `airstrip token` does; SQLite's WAL lets this run beside a
 * live server) for one notification command, and closes it. Loaded on demand: `airstrip inspect`
 * does not pay for it.
 */
export async function withNotificationStores<T>(flags: RawSettings, env: Record<string, string | undefined>, work: (context: NotificationContext) => Promise<T>): Promise<T> {
  const config = loadConfig(flags, env)
  const { openDatabase } = await import('../store/database.ts')
  const { createSqliteMetaStore } = await import('../store/meta-store.ts')
  const { createSqliteNotificationStore } = await import('../store/notifications.ts')
  const { databaseLocation } = await import('../store/open-stores.ts')
  const { sharedSecret } = await import('../store/shared-secrets.ts')
  const { createSecretBox, loadSecretBox } = await import('../notify/secret-box.ts')
  const db = await openDatabase(databaseLocation(config.storage, config.dataDir))
  const meta = createSqliteMetaStore(db)
  try {
    // The same sealing key the server uses: in the database with PostgreSQL, else in the data dir.
    const secrets = config.storage.databaseUrl ? createSecretBox(await sharedSecret(db, 'notify-secret-box')) : await loadSecretBox(config.dataDir)
    return await work({ config, meta, store: createSqliteNotificationStore(db), secrets })
  } finally {
    await meta.close()
  }
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
