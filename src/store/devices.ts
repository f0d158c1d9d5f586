import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import { AirstripError } from '../errors.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import type { DevicesTable, DeviceInvitesTable } from './device-tables.ts'
import { newId } from './new-id.ts'

/** A device as the team sees it. */
export interface DeviceRecord {
  id: string
  udid: string
  /** What to call it: the team's name, else the device's own, else its model, else "Device". */
  name: string
  customName: string | null
  reportedName: string | null
  /** "iPhone15,2" */
  product: string | null
  /** "iPhone 14 Pro" */
  modelName: string | null
  family: string
  /** The OS build the device reported (VERSION), e.g. "22D63". */
  osVersion: string | null
  serial: string | null
  /** Who it belongs to: an e-mail address (lower case) or a name; null when unknown. */
  tester: string | null
  signatureVerified: boolean
  chainVerified: boolean | null
  enrollments: number
  appleDeviceId: string | null
  appleRegisteredAt: string | null
  firstSeenAt: string
  lastSeenAt: string
}

/** What one successful enrolment reports about a device: the record's facts that come from the device. */
export type EnrolledDevice = Pick<DeviceRecord, 'udid' | 'reportedName' | 'product' | 'modelName' | 'family' | 'osVersion' | 'serial' | 'signatureVerified' | 'chainVerified'>

/** A personal enrolment link. The link's secret is shown once, at creation. */
export interface DeviceInviteRecord {
  id: string
  tester: string
  createdAt: string
  lastUsedAt: string | null
}

/** One download of the enrolment profile: the challenge it carries, until a device answers or it expires. */
export interface EnrollmentRecord {
  id: string
  inviteId: string | null
  challengeHash: string
  createdAt: string
  expiresAt: string
  completedAt: string | null
  deviceId: string | null
}

/**
 * What the enrolment flow, the device routes and `airstrip devices` need from the database. The
 * queries are portable Kysely (upsert, RETURNING, conditional update), so a PostgreSQL adapter
 * needs no new code here.
 */
export interface DeviceStore {
  /** Every device, most recently seen first; `tester` filters exactly. */
  listDevices(filter?: { tester?: string | undefined }): Promise<DeviceRecord[]>
  getDevice(id: string): Promise<DeviceRecord | null>
  getDeviceByUdid(udid: string): Promise<DeviceRecord | null>
  /** Renames (null: back to the device's own name) and/or links to a tester (null: unlink). */
  updateDevice(id: string, changes: { customName?: string | null; tester?: string | null }): Promise<DeviceRecord | null>
  /** Records that App Store Connect knows the device (its id there). */
  markRegisteredWithApple(id: string, appleDeviceId: string | null): Promise<void>
  /** True when the device existed. */
  deleteDevice(id: string): Promise<boolean>
  /** Returns the link's secret once (`ei_…`); only its SHA-256 is stored. */
  createInvite(tester: string): Promise<{ invite: DeviceInviteRecord; token: string }>
  /** The invite a secret belongs to (and notes it was used), else null. */
  findInviteByToken(token: string): Promise<DeviceInviteRecord | null>
  getInvite(id: string): Promise<DeviceInviteRecord | null>
  listInvites(): Promise<DeviceInviteRecord[]>
  /** True when it existed; the link stops working at once. */
  deleteInvite(id: string): Promise<boolean>
  /**
   * Starts (or restarts, with a new challenge: iOS keeps only the last downloaded profile) an
   * enrolment; 'completed' when a device already answered this one. Prunes long-expired ones.
   */
  openEnrollment(input: { id: string; inviteId: string | null; challengeHash: string; expiresAt: string }): Promise<'opened' | 'completed'>
  getEnrollment(id: string): Promise<EnrollmentRecord | null>
  /**
   * In one transaction: marks the enrolment completed (only if it was not — single use, even
   * against a concurrent answer) and creates or refreshes the device, linking it to the invite's
   * tester. Null when the enrolment was already completed.
   */
  completeEnrollment(id: string, device: EnrolledDevice): Promise<{ device: DeviceRecord; firstTime: boolean } | null>
}

/** Every invite secret starts with this, so a leaked one is recognisable. */
export const INVITE_TOKEN_PREFIX = 'ei_'
const INVITE_TOKEN = /^ei_[A-Za-z0-9_-]{43}$/
/** Enrolments are kept this long after they expire (for support questions), then pruned. */
const KEEP_EXPIRED_MS = 24 * 60 * 60 * 1000

/** True for strings shaped like an invite secret (lets routes tell them from other path segments). */
export function isInviteToken(value: string): boolean {
  return INVITE_TOKEN.test(value)
}

/** A tester reference as stored: trimmed; e-mail addresses lower-cased (they match testers by e-mail). */
export function normalizeTester(value: string): string {
  const trimmed = value.trim().replace(/\s+/g, ' ')
  if (trimmed === '' || trimmed.length > 200) throw new AirstripError('bad-request', 'a tester is 1 to 200 characters (an e-mail address or a name)')
  return /^[^\s@]+@[^\s@]+$/.test(trimmed) ? trimmed.toLowerCase() : trimmed
}

/** The DeviceStore over a Kysely database opened by `openDatabase`. */
export function createSqlDeviceStore(db: Kysely<Database>, options: Partial<StoreContext> = {}): DeviceStore {
  const ctx: StoreContext = { now: options.now ?? (() => new Date()), newId: options.newId ?? newId }
  const nowIso = (): string => ctx.now().toISOString()

  return {
    async listDevices(filter = {}) {
      let query = db.selectFrom('devices').selectAll().orderBy('last_seen_at', 'desc').orderBy('id')
      if (filter.tester !== undefined) query = query.where('tester', '=', filter.tester)
      return (await query.execute()).map(toDeviceRecord)
    },
    async getDevice(id) {
      const row = await db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toDeviceRecord(row) : null
    },
    async getDeviceByUdid(udid) {
      const row = await db.selectFrom('devices').selectAll().where('udid', '=', udid).executeTakeFirst()
      return row ? toDeviceRecord(row) : null
    },
    async updateDevice(id, changes) {
      const set: { custom_name?: string | null; tester?: string | null } = {}
      if (changes.customName !== undefined) set.custom_name = changes.customName
      if (changes.tester !== undefined) set.tester = changes.tester === null ? null : normalizeTester(changes.tester)
      if (Object.keys(set).length > 0) await db.updateTable('devices').set(set).where('id', '=', id).execute()
      const row = await db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toDeviceRecord(row) : null
    },
    async markRegisteredWithApple(id, appleDeviceId) {
      await db.updateTable('devices').set({ apple_device_id: appleDeviceId, apple_registered_at: nowIso() }).where('id', '=', id).execute()
    },
    async deleteDevice(id) {
      const result = await db.deleteFrom('devices').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    async createInvite(tester) {
      const row = { id: ctx.newId(), tester: normalizeTester(tester), token_hash: '', created_at: nowIso(), last_used_at: null }
      const token = `${INVITE_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
      row.token_hash = hashSecret(token)
      await db.insertInto('device_invites').values(row).execute()
      return { invite: toInviteRecord(row), token }
    },
    async findInviteByToken(token) {
      if (!INVITE_TOKEN.test(token)) return null
      const hash = hashSecret(token)
      const row = await db.selectFrom('device_invites').selectAll().where('token_hash', '=', hash).executeTakeFirst()
      if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return null
      const lastUsedAt = nowIso()
      await db.updateTable('device_invites').set({ last_used_at: lastUsedAt }).where('id', '=', row.id).execute()
      return toInviteRecord({ ...row, last_used_at: lastUsedAt })
    },
    async getInvite(id) {
      const row = await db.selectFrom('device_invites').selectAll().where('id', '=', id).executeTakeFirst()
      return row ? toInviteRecord(row) : null
    },
    async listInvites() {
      return (await db.selectFrom('device_invites').selectAll().orderBy('created_at').orderBy('id').execute()).map(toInviteRecord)
    },
    async deleteInvite(id) {
      const result = await db.deleteFrom('device_invites').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    async openEnrollment(input) {
      const now = ctx.now()
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('device_enrollments').where('expires_at', '<', new Date(now.getTime() - KEEP_EXPIRED_MS).toISOString()).execute()
        const existing = await trx.selectFrom('device_enrollments').select(['completed_at']).where('id', '=', input.id).executeTakeFirst()
        if (existing?.completed_at) return 'completed'
        if (existing) {
          await trx.updateTable('device_enrollments').set({ challenge_hash: input.challengeHash, expires_at: input.expiresAt, invite_id: input.inviteId }).where('id', '=', input.id).execute()
        } else {
          await trx
            .insertInto('device_enrollments')
            .values({ id: input.id, invite_id: input.inviteId, challenge_hash: input.challengeHash, created_at: now.toISOString(), expires_at: input.expiresAt, completed_at: null, device_id: null })
            .execute()
        }
        return 'opened'
      })
    },
    async getEnrollment(id) {
      const row = await db.selectFrom('device_enrollments').selectAll().where('id', '=', id).executeTakeFirst()
      return row
        ? { id: row.id, inviteId: row.invite_id, challengeHash: row.challenge_hash, createdAt: row.created_at, expiresAt: row.expires_at, completedAt: row.completed_at, deviceId: row.device_id }
        : null
    },
    async completeEnrollment(id, device) {
      const at = nowIso()
      return db.transaction().execute(async (trx) => {
        const claimed = await trx.updateTable('device_enrollments').set({ completed_at: at }).where('id', '=', id).where('completed_at', 'is', null).executeTakeFirst()
        if (claimed.numUpdatedRows === 0n) return null
        const enrollment = await trx.selectFrom('device_enrollments').select(['invite_id']).where('id', '=', id).executeTakeFirstOrThrow()
        const invite = enrollment.invite_id ? await trx.selectFrom('device_invites').select(['tester']).where('id', '=', enrollment.invite_id).executeTakeFirst() : undefined
        const values = {
          reported_name: device.reportedName,
          product: device.product,
          model_name: device.modelName,
          family: device.family,
          os_version: device.osVersion,
          serial: device.serial,
          signature_verified: device.signatureVerified ? 1 : 0,
          chain_verified: device.chainVerified === null ? null : device.chainVerified ? 1 : 0,
          last_seen_at: at,
        }
        const row = await trx
          .insertInto('devices')
          .values({ id: ctx.newId(), udid: device.udid, custom_name: null, tester: invite?.tester ?? null, enrollments: 1, apple_device_id: null, apple_registered_at: null, first_seen_at: at, ...values })
          .onConflict((oc) =>
            oc.column('udid').doUpdateSet((eb) => ({
              ...values,
              // A personal link names the owner; an anonymous enrolment keeps whoever was linked before.
              tester: eb.fn.coalesce('excluded.tester', 'devices.tester'),
              enrollments: eb('devices.enrollments', '+', 1),
            })),
          )
          .returningAll()
          .executeTakeFirstOrThrow()
        await trx.updateTable('device_enrollments').set({ device_id: row.id }).where('id', '=', id).execute()
        return { device: toDeviceRecord(row), firstTime: Number(row.enrollments) === 1 }
      })
    },
  }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

function toDeviceRecord(row: Selectable<DevicesTable>): DeviceRecord {
  return {
    id: row.id,
    udid: row.udid,
    name: row.custom_name ?? row.reported_name ?? row.model_name ?? 'Device',
    customName: row.custom_name,
    reportedName: row.reported_name,
    product: row.product,
    modelName: row.model_name,
    family: row.family,
    osVersion: row.os_version,
    serial: row.serial,
    tester: row.tester,
    signatureVerified: Number(row.signature_verified) === 1,
    chainVerified: row.chain_verified === null ? null : Number(row.chain_verified) === 1,
    enrollments: Number(row.enrollments),
    appleDeviceId: row.apple_device_id,
    appleRegisteredAt: row.apple_registered_at,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
  }
}

function toInviteRecord(row: Selectable<DeviceInvitesTable>): DeviceInviteRecord {
  return { id: row.id, tester: row.tester, createdAt: row.created_at, lastUsedAt: row.last_used_at }
}
