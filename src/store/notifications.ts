import type { Kysely } from 'kysely'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import { newId } from './new-id.ts'
import type {
  AppNotificationSettings,
  ClaimedDelivery,
  DeliveryPage,
  DeliveryQuery,
  DeliveryRecord,
  GroupRecord,
  NewEvent,
  NewTester,
  NewWebhook,
  TesterRecord,
  WebhookRecord,
} from './notification-records.ts'
import { claimDueDeliveries, completeDelivery, enqueueEvent, failDelivery, getDelivery, listDeliveries, nextDueAt, retryDelivery } from './outbox.ts'
import {
  createGroup,
  createTester,
  deleteGroup,
  deleteTester,
  getAppNotificationSettings,
  getGroup,
  getTester,
  listGroups,
  listTesters,
  renameGroup,
  setGroupMember,
  updateAppNotificationSettings,
  updateTester,
  type AppNotificationPatch,
} from './testers.ts'
import { createWebhook, deleteWebhook, getWebhook, listWebhooks } from './webhooks.ts'

/**
 * What notifications need from the database: testers and groups, who follows which app,
 * webhooks, and the outbox the worker drains. It shares the MetaStore's database handle (the
 * MetaStore closes it). A PostgreSQL adapter must be a new `create…NotificationStore` only,
 * run against the same suite (test/store/notification-store.test.ts).
 */
export interface NotificationStore {
  /** Throws `tester-exists` for a known address, `bad-request` for a bad name, address or phone. */
  createTester(input: NewTester): Promise<TesterRecord>
  updateTester(id: string, patch: Partial<NewTester>): Promise<TesterRecord | null>
  /** By id or e-mail address. */
  getTester(idOrEmail: string): Promise<TesterRecord | null>
  listTesters(): Promise<TesterRecord[]>
  deleteTester(id: string): Promise<boolean>
  /** Throws `group-exists` for a taken name. */
  createGroup(name: string): Promise<GroupRecord>
  renameGroup(id: string, name: string): Promise<GroupRecord | null>
  /** By id or name. */
  getGroup(idOrName: string): Promise<GroupRecord | null>
  listGroups(): Promise<GroupRecord[]>
  deleteGroup(id: string): Promise<boolean>
  setGroupMember(groupId: string, testerId: string, member: boolean): Promise<GroupRecord>
  getAppNotificationSettings(bundleId: string): Promise<AppNotificationSettings>
  updateAppNotificationSettings(bundleId: string, patch: AppNotificationPatch): Promise<AppNotificationSettings>
  createWebhook(input: NewWebhook): Promise<WebhookRecord>
  listWebhooks(bundleId?: string): Promise<WebhookRecord[]>
  getWebhook(id: string): Promise<(WebhookRecord & { secretBox: string }) | null>
  deleteWebhook(id: string): Promise<boolean>
  /** Records the event and its deliveries in one transaction; a repeat of the same event is a no-op. */
  enqueueEvent(event: NewEvent): Promise<{ eventId: string; created: boolean; deliveries: number }>
  claimDueDeliveries(options: { leaseMs: number; limit: number; maxAttempts: number }): Promise<ClaimedDelivery[]>
  completeDelivery(id: string, claimId: string): Promise<boolean>
  failDelivery(id: string, claimId: string, outcome: { error: string; retryAt: Date | null; cancel?: boolean }): Promise<boolean>
  nextDueAt(): Promise<Date | null>
  listDeliveries(query: DeliveryQuery): Promise<DeliveryPage>
  getDelivery(id: string): Promise<DeliveryRecord | null>
  retryDelivery(id: string): Promise<DeliveryRecord | null>
}

export type { AppNotificationPatch }

/**
 * The NotificationStore over the Kysely database opened by `openDatabase`.
 *
 * @example const notifications = createSqliteNotificationStore(db)
 */
export function createSqliteNotificationStore(db: Kysely<Database>, options: Partial<StoreContext> = {}): NotificationStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  return {
    createTester: (input) => createTester(db, ctx, input),
    updateTester: (id, patch) => updateTester(db, ctx, id, patch),
    getTester: (idOrEmail) => getTester(db, idOrEmail),
    listTesters: () => listTesters(db),
    deleteTester: (id) => deleteTester(db, id),
    createGroup: (name) => createGroup(db, ctx, name),
    renameGroup: (id, name) => renameGroup(db, id, name),
    getGroup: (idOrName) => getGroup(db, idOrName),
    listGroups: () => listGroups(db),
    deleteGroup: (id) => deleteGroup(db, id),
    setGroupMember: (groupId, testerId, member) => setGroupMember(db, groupId, testerId, member),
    getAppNotificationSettings: (bundleId) => getAppNotificationSettings(db, bundleId),
    updateAppNotificationSettings: (bundleId, patch) => updateAppNotificationSettings(db, ctx, bundleId, patch),
    createWebhook: (input) => createWebhook(db, ctx, input),
    listWebhooks: (bundleId) => listWebhooks(db, bundleId),
    getWebhook: (id) => getWebhook(db, id),
    deleteWebhook: (id) => deleteWebhook(db, id),
    enqueueEvent: (event) => enqueueEvent(db, ctx, event),
    claimDueDeliveries: (claim) => claimDueDeliveries(db, ctx, claim),
    completeDelivery: (id, claimId) => completeDelivery(db, ctx, id, claimId),
    failDelivery: (id, claimId, outcome) => failDelivery(db, ctx, id, claimId, outcome),
    nextDueAt: () => nextDueAt(db),
    listDeliveries: (query) => listDeliveries(db, query),
    getDelivery: (id) => getDelivery(db, id),
    retryDelivery: (id) => retryDelivery(db, ctx, id),
  }
}
