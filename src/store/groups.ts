// Owner of the `groups` table.
import { sql } from 'kysely'
import type { Group } from '../db/schema.js'
import { newId } from '../ids.js'
import type { Db } from './db.js'
import { containsPattern, exactMatchesFirst, listPage, pageOf, type ListQuery, type Listed } from './paging.js'

const COLUMNS = ['id', 'organization_id', 'name', 'description', 'created_at', 'updated_at'] as const

/** Inserts a group; a taken name fails with the unique violation (the caller maps it). */
export async function insertGroup (db: Db, orgId: string, fields: { name: string, description: string }): Promise<Group> {
  return await db.insertInto('groups').values({ id: newId(), organization_id: orgId, ...fields }).returning(COLUMNS).executeTakeFirstOrThrow()
}

/** The group of this organization with this id, if any. */
export async function findGroup (db: Db, orgId: string, id: string): Promise<Group | undefined> {
  return await db.selectFrom('groups').select(COLUMNS).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** Whether the org has this group; with `lock`, its row is locked FOR SHARE till the transaction ends. */
export async function groupExists (db: Db, orgId: string, id: string, lock = false): Promise<boolean> {
  let query = db.selectFrom('groups').select('id').where('organization_id', '=', orgId).where('id', '=', id)
  if (lock) query = query.forShare()
  return (await query.executeTakeFirst()) !== undefined
}

/** A page of the organization's groups; `q` is a substring of the name, without case. */
export async function listGroups (db: Db, orgId: string, query: ListQuery): Promise<Listed<Group>> {
  let base = db.selectFrom('groups').where('organization_id', '=', orgId)
  if (query.q) base = base.where('name', 'ilike', containsPattern(query.q))
  return await listPage(db, base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, query.q, ['name']).orderBy('created_at').orderBy('id'))
}

/** Updates the group; false when there is none. */
export async function updateGroupRow (db: Db, orgId: string, id: string, fields: { name?: string, description?: string }): Promise<boolean> {
  const res = await db.updateTable('groups').set({ ...fields, updated_at: sql<Date>`now()` }).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numUpdatedRows > 0n
}

/** Deletes the group; false when there was none. */
export async function deleteGroupRow (db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('groups').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numDeletedRows > 0n
}

/** The id and name of each of these groups of the org that exists, in id order. */
export async function groupNames (db: Db, orgId: string, ids: readonly string[]): Promise<Array<{ id: string, name: string }>> {
  if (ids.length === 0) return []
  return await db.selectFrom('groups').select(['id', 'name'])
    .where('organization_id', '=', orgId).where('id', 'in', [...ids]).orderBy('id').execute()
}
