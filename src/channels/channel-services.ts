import type { Kysely } from 'kysely'
import type { Config } from '../config.ts'
import type { NotificationService } from '../notify/notification-service.ts'
import type { PublicUrls } from '../ota/public-urls.ts'
import type { UrlSigner } from '../ota/url-token.ts'
import { createSqlAccessStore } from '../store/access.ts'
import { createSqlAnalyticsStore } from '../store/analytics.ts'
import type { BlobStore } from '../store/blob-store.ts'
import { createSqlChannelStore } from '../store/channels.ts'
import type { Database } from '../store/database.ts'
import type { MetaStore } from '../store/meta-store.ts'
import { openAttemptLimiter } from '../store/password-attempts.ts'
import { createAccessService, type AccessService } from './access-service.ts'
import { createInstallAnalytics, type InstallAnalytics } from './install-analytics.ts'
import { runRetention, startRetentionTimer, type RetentionReport } from './retention-runner.ts'

export interface ChannelServices {
  /** Channels, access settings, personal links and the checks behind every granted link. */
  access: AccessService
  /** Page views, manifest fetches, downloads started and completed. */
  analytics: InstallAnalytics
  /** Applies retention now (`dryRun`: report only), optionally for one app. */
  runRetention(options: { dryRun: boolean; bundleId?: string | undefined }): Promise<RetentionReport>
}

export interface ChannelServicesDeps {
  db: Kysely<Database>
  meta: MetaStore
  blobs: BlobStore
  notifications: NotificationService
  signer: UrlSigner
  urls: PublicUrls
  config: Pick<Config, 'linkTtlSeconds' | 'tls'>
  now: () => Date
  log: { info(o: object, m: string): void; error(o: object, m: string): void }
}

/** Builds channels, access, analytics and retention over the shared database (one call in createApp; the CLI uses the same). */
export function createChannelServices(deps: ChannelServicesDeps): ChannelServices & { startRetention(intervalSeconds: number): { stop(): Promise<void> } } {
  const options = { now: deps.now }
  const channels = createSqlChannelStore(deps.db, options)
  const access = createAccessService({
    channels, grants: createSqlAccessStore(deps.db, options), testers: deps.notifications.store,
    signer: deps.signer, urls: deps.urls, config: deps.config, now: deps.now,
    attemptLimiter: (limits) => openAttemptLimiter(deps.db, { ...limits, now: deps.now }),
  })
  const analytics = createInstallAnalytics({ store: createSqlAnalyticsStore(deps.db, options), meta: deps.meta, notifications: deps.notifications, log: deps.log })
  const retentionDeps = { channels, meta: deps.meta, blobs: deps.blobs, notifications: deps.notifications, now: deps.now }
  return {
    access,
    analytics,
    runRetention: (runOptions) => runRetention(retentionDeps, runOptions),
    startRetention: (intervalSeconds) => startRetentionTimer(retentionDeps, { intervalSeconds, log: deps.log }),
  }
}
