import type { Kysely, Selectable, Transaction } from 'kysely'
import { AirstripError } from '../errors.ts'
import { normalizeEmail, normalizeName, normalizePhone } from '../notify/contact-fields.ts'
import type { StoreContext } from './builds.ts'
import type { Database } from './database.ts'
import type { AppNotificationSettings, GroupRecord, NewTester, NotifyOnUpload, TesterRecord } from './notification-records.ts'
import type { TestersTable } from './notification-tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/** Testers, groups and which apps they follow: plain queries over `db`. */

export async function createTester(db: Kysely<Database>, ctx: StoreContext, input: NewTester): Promise<TesterRecord> {
  const now = ctx.now().toISOString()
  const row = {
    id: ctx.newId(),
    name: normalizeName(input.name),
    email: normalizeEmail(input.email),
    phone: input.phone ? normalizePhone(input.phone) : null,
    created_at: now,
    updated_at: now,
  }
  const inserted = await db.insertInto('testers').values(row).onConflict((oc) => oc.column('email').doNothing()).executeTakeFirst()
  if (inserted.numInsertedOrUpdatedRows === 0n) throw new AirstripError('tester-exists', `a tester with the address ${row.email} already exists`)
  return toTesterRecord(row, [])
}

/** Changes what is given (`phone: null` removes the number); null when there is no such tester. */
export async function updateTester(db: Kysely<Database>, ctx: StoreContext, id: string, patch: Partial<NewTester>): Promise<TesterRecord | null> {
  const set: Partial<Selectable<TestersTable>> = { updated_at: ctx.now().toISOString() }
  if (patch.name !== undefined) set.name = normalizeName(patch.name)
  if (patch.email !== undefined) set.email = normalizeEmail(patch.email)
  if (patch.phone !== undefined) set.phone = patch.phone ? normalizePhone(patch.phone) : null
  if (set.email !== undefined) {
    const other = await db.selectFrom('testers').select('id').where('email', '=', set.email).where('id', '!=', id).executeTakeFirst()
    if (other) throw new AirstripError('tester-exists', `a tester with the address ${set.email} already exists`)
  }
  const updated = await db.updateTable('testers').set(set).where('id', '=', id).executeTakeFirst()
  return updated.numUpdatedRows === 0n ? null : getTester(db, id)
}

/** By id, or by e-mail address (any case). */
export async function getTester(db: Db, idOrEmail: string): Promise<TesterRecord | null> {
  const row = await db
    .selectFrom('testers')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrEmail), eb('email', '=', idOrEmail.trim().toLowerCase())]))
    .executeTakeFirst()
  if (!row) return null
  const groups = await db.selectFrom('tester_group_members').select('group_id').where('tester_id', '=', row.id).orderBy('group_id').execute()
  return toTesterRecord(row, groups.map((g) => g.group_id))
}

/** Every tester, by name. */
export async function listTesters(db: Db): Promise<TesterRecord[]> {
  const rows = await db.selectFrom('testers').selectAll().orderBy('name').orderBy('id').execute()
  const memberships = await db.selectFrom('tester_group_members').selectAll().orderBy('group_id').execute()
  return rows.map((row) => toTesterRecord(row, memberships.filter((m) => m.tester_id === row.id).map((m) => m.group_id)))
}

/** Deletes the tester with their memberships and app links (cascade); true when they existed. */
export async function deleteTester(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('testers').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

export async function createGroup(db: Kysely<Database>, ctx: StoreContext, name: string): Promise<GroupRecord> {
  const row = { id: ctx.newId(), name: normalizeName(name, 'group name'), created_at: ctx.now().toISOString() }
  const inserted = await db.insertInto('tester_groups').values(row).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst()
  if (inserted.numInsertedOrUpdatedRows === 0n) throw new AirstripError('group-exists', `a group named ${JSON.stringify(row.name)} already exists`)
  return { id: row.id, name: row.name, testerIds: [], createdAt: row.created_at }
}

export async function renameGroup(db: Kysely<Database>, id: string, name: string): Promise<GroupRecord | null> {
  const normalized = normalizeName(name, 'group name')
  const other = await db.selectFrom('tester_groups').select('id').where('name', '=', normalized).where('id', '!=', id).executeTakeFirst()
  if (other) throw new AirstripError('group-exists', `a group named ${JSON.stringify(normalized)} already exists`)
  const updated = await db.updateTable('tester_groups').set({ name: normalized }).where('id', '=', id).executeTakeFirst()
  return updated.numUpdatedRows === 0n ? null : getGroup(db, id)
}

/** By id, or by exact name. */
export async function getGroup(db: Db, idOrName: string): Promise<GroupRecord | null> {
  const row = await db
    .selectFrom('tester_groups')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName.trim())]))
    .executeTakeFirst()
  if (!row) return null
  const members = await db.selectFrom('tester_group_members').select('tester_id').where('group_id', '=', row.id).orderBy('tester_id').execute()
  return { id: row.id, name: row.name, testerIds: members.map((m) => m.tester_id), createdAt: row.created_at }
}

export async function listGroups(db: Db): Promise<GroupRecord[]> {
  const rows = await db.selectFrom('tester_groups').selectAll().orderBy('name').execute()
  const members = await db.selectFrom('tester_group_members').selectAll().orderBy('tester_id').execute()
  return rows.map((row) => ({ id: row.id, name: row.name, testerIds: members.filter((m) => m.group_id === row.id).map((m) => m.tester_id), createdAt: row.created_at }))
}

export async function deleteGroup(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('tester_groups').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** Adds (idempotently) or removes a member; throws `group-not-found` / `tester-not-found`. */
export async function setGroupMember(db: Kysely<Database>, groupId: string, testerId: string, member: boolean): Promise<GroupRecord> {
  return db.transaction().execute(async (trx) => {
    await requireRow(trx, 'tester_groups', groupId, 'group-not-found')
    await requireRow(trx, 'testers', testerId, 'tester-not-found')
    if (member) {
      await trx.insertInto('tester_group_members').values({ group_id: groupId, tester_id: testerId }).onConflict((oc) => oc.columns(['group_id', 'tester_id']).doNothing()).execute()
    } else {
      await trx.deleteFrom('tester_group_members').where('group_id', '=', groupId).where('tester_id', '=', testerId).execute()
    }
    return (await getGroup(trx, groupId))!
  })
}

/** The app's settings; an app never configured notifies on request only, and nobody. */
export async function getAppNotificationSettings(db: Db, bundleId: string): Promise<AppNotificationSettings> {
  const setting = await db.selectFrom('app_notification_settings').select('notify_on_upload').where('bundle_id', '=', bundleId).executeTakeFirst()
  const testers = await db.selectFrom('app_testers').select('tester_id').where('bundle_id', '=', bundleId).orderBy('tester_id').execute()
  const groups = await db.selectFrom('app_groups').select('group_id').where('bundle_id', '=', bundleId).orderBy('group_id').execute()
  return {
    bundleId,
    notifyOnUpload: setting?.notify_on_upload === 'always' ? 'always' : 'on-request',
    testerIds: testers.map((t) => t.tester_id),
    groupIds: groups.map((g) => g.group_id),
  }
}

/**
 * Changes what is given, in one transaction: `testerIds`/`groupIds` replace the sets; `add…` and
 * `remove…` edit them. Unknown ids throw `tester-not-found` / `group-not-found` and change nothing.
 */
export async function updateAppNotificationSettings(
  db: Kysely<Database>,
  ctx: StoreContext,
  bundleId: string,
  patch: AppNotificationPatch,
): Promise<AppNotificationSettings> {
  return db.transaction().execute(async (trx) => {
    if (patch.notifyOnUpload !== undefined) {
      const values = { bundle_id: bundleId, notify_on_upload: patch.notifyOnUpload, updated_at: ctx.now().toISOString() }
      await trx
        .insertInto('app_notification_settings')
        .values(values)
        .onConflict((oc) => oc.column('bundle_id').doUpdateSet({ notify_on_upload: values.notify_on_upload, updated_at: values.updated_at }))
        .execute()
    }
    for (const id of [...(patch.testerIds ?? []), ...(patch.addTesterIds ?? [])]) await requireRow(trx, 'testers', id, 'tester-not-found')
    for (const id of [...(patch.groupIds ?? []), ...(patch.addGroupIds ?? [])]) await requireRow(trx, 'tester_groups', id, 'group-not-found')
    if (patch.testerIds !== undefined) await trx.deleteFrom('app_testers').where('bundle_id', '=', bundleId).execute()
    if (patch.groupIds !== undefined) await trx.deleteFrom('app_groups').where('bundle_id', '=', bundleId).execute()
    for (const id of new Set([...(patch.testerIds ?? []), ...(patch.addTesterIds ?? [])])) {
      await trx.insertInto('app_testers').values({ bundle_id: bundleId, tester_id: id }).onConflict((oc) => oc.columns(['bundle_id', 'tester_id']).doNothing()).execute()
    }
    for (const id of new Set([...(patch.groupIds ?? []), ...(patch.addGroupIds ?? [])])) {
      await trx.insertInto('app_groups').values({ bundle_id: bundleId, group_id: id }).onConflict((oc) => oc.columns(['bundle_id', 'group_id']).doNothing()).execute()
    }
    if (patch.removeTesterIds?.length) await trx.deleteFrom('app_testers').where('bundle_id', '=', bundleId).where('tester_id', 'in', patch.removeTesterIds).execute()
    if (patch.removeGroupIds?.length) await trx.deleteFrom('app_groups').where('bundle_id', '=', bundleId).where('group_id', 'in', patch.removeGroupIds).execute()
    return getAppNotificationSettings(trx, bundleId)
  })
}

export interface AppNotificationPatch {
  notifyOnUpload?: NotifyOnUpload | undefined
  testerIds?: string[] | undefined
  groupIds?: string[] | undefined
  addTesterIds?: string[] | undefined
  removeTesterIds?: string[] | undefined
  addGroupIds?: string[] | undefined
  removeGroupIds?: string[] | undefined
}

/**
 * The testers an app's uploads reach: linked directly or through a group, each once (a tester in
 * two linked groups is one recipient).
 */
export async function appRecipients(db: Db, bundleId: string): Promise<Selectable<TestersTable>[]> {
  return db
    .selectFrom('testers')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('id', 'in', eb.selectFrom('app_testers').select('tester_id').where('bundle_id', '=', bundleId)),
        eb(
          'id',
          'in',
          eb
            .selectFrom('tester_group_members')
            .innerJoin('app_groups', 'app_groups.group_id', 'tester_group_members.group_id')
            .select('tester_group_members.tester_id')
            .where('app_groups.bundle_id', '=', bundleId),
        ),
      ]),
    )
    .orderBy('id')
    .execute()
}

async function requireRow(trx: Db, table: 'testers' | 'tester_groups', id: string, code: 'tester-not-found' | 'group-not-found'): Promise<void> {
  const row = await trx.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst()
  if (!row) throw new AirstripError(code, `${code === 'tester-not-found' ? 'no tester' : 'no group'} with id ${JSON.stringify(id)}`)
}

function toTesterRecord(row: Selectable<TestersTable>, groupIds: string[]): TesterRecord {
  return { id: row.id, name: row.name, email: row.email, phone: row.phone, groupIds, createdAt: row.created_at, updatedAt: row.updated_at }
}
