import { planRetention, type RetentionPolicy } from '../access/retention-plan.ts'
import { deleteBuild } from '../builds/ingest-build.ts'
import type { NotificationService } from '../notify/notification-service.ts'
import type { BlobStore } from '../store/blob-store.ts'
import type { ChannelStore } from '../store/channels.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { BuildRecord } from '../store/records.ts'

/** Builds a channel may hold for retention to look at; beyond this, the oldest are left for the next run. */
const MAX_BUILDS_PER_CHANNEL = 10_000

export interface RetentionDeps {
  channels: Pick<ChannelStore, 'listChannelsWithRetention' | 'listChannelBuilds'>
  meta: MetaStore
  blobs: BlobStore
  notifications: Pick<NotificationService, 'buildDeleted'>
  now: () => Date
}

export interface RetainedChannelReport {
  bundleId: string
  channel: string
  policy: RetentionPolicy
  kept: number
  deleted: Array<{ id: string; version: string | null; build: string | null; createdAt: string; size: number }>
}

export interface RetentionReport {
  dryRun: boolean
  ranAt: string
  channels: RetainedChannelReport[]
  deletedBuilds: number
  /** Bytes of .ipa blobs no build references any more (deleted, or that would be on a dry run). */
  freedBytes: number
}

/**
 * Applies every channel's retention rule (src/access/retention-plan.ts): lists the channel's
 * builds, plans, and deletes through `deleteBuild`, which removes the blobs no other build
 * references; `build.deleted` goes to the app's webhooks. A dry run plans and reports only.
 * Idempotent, so running it twice (or on two instances) deletes nothing twice.
 */
export async function runRetention(deps: RetentionDeps, options: { dryRun: boolean; bundleId?: string | undefined }): Promise<RetentionReport> {
  const now = deps.now()
  const report: RetentionReport = { dryRun: options.dryRun, ranAt: now.toISOString(), channels: [], deletedBuilds: 0, freedBytes: 0 }
  for (const channel of await deps.channels.listChannelsWithRetention()) {
    if (options.bundleId !== undefined && channel.bundleId !== options.bundleId) continue
    const builds = await deps.channels.listChannelBuilds(channel.bundleId, channel.name, MAX_BUILDS_PER_CHANNEL)
    const plan = planRetention(builds, channel.retention, now)
    const doomed = builds.filter((build) => plan.delete.includes(build.id))
    report.freedBytes += await unreferencedBytes(deps.meta, doomed)
    if (!options.dryRun) {
      for (const build of doomed) {
        const deleted = await deleteBuild(deps, build.id)
        if (deleted) await deps.notifications.buildDeleted(deleted)
      }
    }
    report.deletedBuilds += doomed.length
    report.channels.push({
      bundleId: channel.bundleId,
      channel: channel.name,
      policy: channel.retention,
      kept: plan.keep.length,
      deleted: doomed.map((b) => ({ id: b.id, version: b.version, build: b.build, createdAt: b.createdAt, size: b.size })),
    })
  }
  return report
}

/** Sizes of the .ipa blobs that deleting `builds` leaves unreferenced (identical uploads share one blob). */
async function unreferencedBytes(meta: MetaStore, builds: BuildRecord[]): Promise<number> {
  const bySha = new Map<string, { count: number; size: number }>()
  for (const build of builds) bySha.set(build.sha256, { count: (bySha.get(build.sha256)?.count ?? 0) + 1, size: build.size })
  let bytes = 0
  for (const [sha256, { count, size }] of bySha) if ((await meta.countBuildsWithSha256(sha256)) <= count) bytes += size
  return bytes
}

/**
 * Runs retention every `intervalSeconds` (0: never) while the server runs, one run at a time.
 * Small on purpose: which instance runs it when several share a database is decided elsewhere;
 * running it on several is merely redundant (see `runRetention`).
 */
export function startRetentionTimer(deps: RetentionDeps, options: { intervalSeconds: number; log: { info(o: object, m: string): void; error(o: object, m: string): void } }): { stop(): Promise<void> } {
  if (options.intervalSeconds <= 0) return { stop: async () => {} }
  let running: Promise<void> | null = null
  const tick = (): void => {
    if (running) return
    running = runRetention(deps, { dryRun: false })
      .then((report) => {
        if (report.deletedBuilds > 0) options.log.info({ deletedBuilds: report.deletedBuilds, freedBytes: report.freedBytes }, 'retention deleted builds')
      })
      .catch((error: unknown) => options.log.error({ err: error }, 'retention run failed'))
      .finally(() => void (running = null))
  }
  const timer = setInterval(tick, options.intervalSeconds * 1000)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
