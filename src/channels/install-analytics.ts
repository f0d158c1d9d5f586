import { createHash } from 'node:crypto'
import type { NotificationService } from '../notify/notification-service.ts'
import type { GrantRecord } from '../store/access.ts'
import type { AnalyticsRecord, AnalyticsStore, InstallActor } from '../store/analytics.ts'
import { createWriteBatch, type WriteBatchStats } from '../store/analytics-batch.ts'
import type { MetaStore } from '../store/meta-store.ts'
import type { BuildRecord } from '../store/records.ts'

/** The data of `install.started` and `install.completed` webhook events. */
export interface InstallEventData {
  app: { id: string; bundleId: string; name: string }
  build: { id: string; version: string | null; build: string | null; channel: string }
  /** The tester whose personal link it was; null for public and password links. */
  tester: { id: string; name: string; email: string } | null
  /** For install.completed: the .ipa's size, every byte of which was sent. */
  bytes?: number
}

export interface InstallAnalytics {
  /** The store; its counts first write what is queued, so they include every event recorded before the call. */
  readonly store: AnalyticsStore
  /** The write-behind queue's counters (metrics). */
  queueStats(): WriteBatchStats
  /** An install page was shown for `build`. */
  pageViewed(build: BuildRecord, grant: GrantRecord | null): void
  /** The installer fetched the manifest: an install started (`install.started`). */
  manifestFetched(buildId: string, grant: GrantRecord | null): void
  /**
   * A GET of the .ipa: opens (or continues) the download session of this link, client address and
   * User-Agent, and returns the hook `sendBlob` calls with the bytes it sent. The session completes
   * (`install.completed`) when its pieces cover the file, however they were requested.
   */
  downloadStarted(input: { token: string; client: string; userAgent: string; build: BuildRecord; grant: GrantRecord | null }): (start: number, sent: number) => void
  /**
   * Resolves when everything recorded so far is written (tests, shutdown), downloads in flight
   * included: a download's bytes are known only once the last one has left, which can be just after
   * the client has read it. Waits for those at most `waitMs` (default 2 s): a stalled client must
   * not hold up a shutdown.
   */
  settled(waitMs?: number): Promise<void>
}

export interface InstallAnalyticsDeps {
  store: AnalyticsStore
  meta: Pick<MetaStore, 'getBuild' | 'getApp'>
  notifications: Pick<NotificationService, 'appEvent' | 'store'>
  log: { error(object: object, message: string): void }
  /** How long records wait to be written together (default 100 ms). */
  flushMs?: number
  /** The most records queued while the database is behind (default 20,000; the oldest are dropped beyond). */
  maxQueued?: number
}

/** What a queued record becomes once written: a webhook event, if the app has a webhook for it. */
type Pending = { record: AnalyticsRecord; build: BuildRecord | string; grant: GrantRecord | null }

/**
 * Records install analytics off the request path: a request only queues its record; every
 * `flushMs` (or once 250 are queued) the queue is written in one transaction, in order (a
 * download's start before its bytes), so a busy server pays one commit per batch, not one per
 * request, a slow database never slows a manifest or a download, and a failed write is logged,
 * never sent to the device. The queue is bounded (src/store/analytics-batch.ts): a database that
 * stays behind loses the oldest records, counted in the metrics. Reads of the counts and
 * `settled()` write the queue first; a clean shutdown (app.close) does too, so only a crash loses
 * records: at most the last `flushMs` of them. `install.started` and `install.completed` are
 * enqueued only for apps with a webhook subscribed to them.
 */
export function createInstallAnalytics(deps: InstallAnalyticsDeps): InstallAnalytics {
  let downloadsInFlight = 0
  let downloadsIdle: Array<() => void> = []
  const downloadEnded = (): void => {
    downloadsInFlight--
    if (downloadsInFlight > 0) return
    for (const wake of downloadsIdle) wake()
    downloadsIdle = []
  }

  const batches = createWriteBatch<Pending>({
    write: (batch) => write(batch),
    flushMs: deps.flushMs ?? 100,
    ...(deps.maxQueued === undefined ? {} : { maxQueued: deps.maxQueued }),
    name: 'install analytics',
    log: deps.log,
  })
  const queue = (item: Pending): void => batches.add(item)
  const flush = (): Promise<void> => batches.flush()
  // Whoever reads the counts sees every event recorded before the read.
  const store: AnalyticsStore = {
    ...deps.store,
    buildCounts: async (buildId) => {
      await flush()
      return deps.store.buildCounts(buildId)
    },
    appCounts: async (bundleId) => {
      await flush()
      return deps.store.appCounts(bundleId)
    },
  }

  const write = async (batch: Pending[]): Promise<void> => {
    // Manifest fetches name their build by id only (the manifest cache never loads it): load each once.
    const builds = new Map<string, BuildRecord | null>()
    for (const item of batch) {
      if (typeof item.build !== 'string' || builds.has(item.build)) continue
      builds.set(item.build, await deps.meta.getBuild(item.build))
    }
    const ready = batch.flatMap((item) => {
      const build = typeof item.build === 'string' ? builds.get(item.build) : item.build
      if (!build) return []
      const record = item.record.type === 'event' ? { ...item.record, actor: actor(build, item.grant) } : item.record
      return [{ ...item, build, record }]
    })
    const results = await deps.store.recordBatch(ready.map((item) => item.record))
    const subscribed = new Map<string, string[]>()
    for (const [index, item] of ready.entries()) {
      const result = results[index]
      const type = item.record.type === 'event' && item.record.kind === 'manifest' ? 'install.started' : typeof result === 'object' && result.completed ? 'install.completed' : null
      if (!type) continue
      const { build } = item
      if (!subscribed.has(build.bundleId)) subscribed.set(build.bundleId, (await deps.notifications.store.listWebhooks(build.bundleId)).flatMap((hook) => hook.events))
      if (!subscribed.get(build.bundleId)!.includes(type)) continue
      const data = await eventData(build, item.grant)
      const subjectId = type === 'install.started' ? `${build.id}:${result as string}` : `${build.id}:${(item.record as { sessionId: string }).sessionId}`
      await deps.notifications.appEvent({ type, subjectId, bundleId: build.bundleId, payload: type === 'install.completed' ? { ...data, bytes: build.size } : data })
    }
  }

  const actor = (build: BuildRecord, grant: GrantRecord | null): InstallActor => ({ buildId: build.id, bundleId: build.bundleId, testerId: grant?.testerId ?? null, grantId: grant?.id ?? null })
  const eventData = async (build: BuildRecord, grant: GrantRecord | null): Promise<InstallEventData> => {
    const app = await deps.meta.getApp(build.appId)
    return {
      app: { id: build.appId, bundleId: build.bundleId, name: app?.name ?? build.name },
      build: { id: build.id, version: build.version, build: build.build, channel: build.channel },
      tester: grant?.tester ?? null,
    }
  }
  // Filled in at write time for manifest fetches, whose build is loaded then.
  const NO_ACTOR: InstallActor = { buildId: '', bundleId: '', testerId: null, grantId: null }

  return {
    store,
    queueStats: () => batches.stats(),
    pageViewed(build, grant) {
      queue({ record: { type: 'event', actor: actor(build, grant), kind: 'page-view' }, build, grant })
    },
    manifestFetched(buildId, grant) {
      queue({ record: { type: 'event', actor: NO_ACTOR, kind: 'manifest' }, build: buildId, grant })
    },
    downloadStarted({ token, client, userAgent, build, grant }) {
      const sessionId = createHash('sha256').update(`${token}\n${client}\n${userAgent}`).digest('base64url')
      queue({ record: { type: 'download', sessionId, actor: actor(build, grant), size: build.size, sent: null }, build, grant })
      downloadsInFlight++
      let ended = false
      return (start, sent) => {
        if (sent > 0) queue({ record: { type: 'download', sessionId, actor: actor(build, grant), size: build.size, sent: { start, end: start + sent } }, build, grant })
        if (!ended) {
          ended = true
          downloadEnded()
        }
      }
    },
    async settled(waitMs = 2000) {
      if (downloadsInFlight > 0) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(timeout)
            resolve()
          }
          const timeout = setTimeout(() => {
            downloadsIdle = downloadsIdle.filter((waiter) => waiter !== wake)
            resolve()
          }, waitMs).unref()
          downloadsIdle.push(wake)
        })
      }
      return flush()
    },
  }
}
