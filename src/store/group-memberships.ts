// Owner of the `group_memberships` table.
import type { GroupMembership } from '../db/schema.js'
import { newId } from '../ids.js'
import { subquery, type Db } from './db.js'
import { listPage, pageOf, type Listed } from './paging.js'

const COLUMNS = ['id', 'organization_id', 'group_id', 'member_type', 'member_id', 'created_at'] as const

/** Filters and paging of GET /group_memberships. */
export interface MembershipQuery {
  page?: number
  per_page?: number
  group_id?: string
  member_id?: string
}

/** Inserts a membership; a duplicate or a vanished group or user fails with its constraint (the caller maps it). */
export async function insertMembership (db: Db, orgId: string, fields: { group_id: string, member_type: 'user', member_id: string }): Promise<GroupMembership> {
  return await db.insertInto('group_memberships').values({ id: newId(), organization_id: orgId, ...fields }).returning(COLUMNS).executeTakeFirstOrThrow()
}

/** A page of the organization's memberships, optionally of one group and/or one member. */
export async function listMemberships (db: Db, orgId: string, query: MembershipQuery): Promise<Listed<GroupMembership>> {
  let base = db.selectFrom('group_memberships').where('organization_id', '=', orgId)
  if (query.group_id !== undefined) base = base.where('group_id', '=', query.group_id)
  if (query.member_id !== undefined) base = base.where('member_id', '=', query.member_id)
  return await listPage(db, base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => qb.orderBy('created_at').orderBy('id'))
}

export async function findMembership (db: Db, orgId: string, id: string): Promise<GroupMembership | undefined> {
  return await db.selectFrom('group_memberships').select(COLUMNS).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** Deletes the membership; false when there was none. */
export async function deleteMembershipRow (db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('group_memberships').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numDeletedRows > 0n
}

/** Deletes every membership of the group (the group is deleted). */
export async function deleteMembershipsOfGroup (db: Db, orgId: string, groupId: string): Promise<void> {
  await db.deleteFrom('group_memberships').where('organization_id', '=', orgId).where('group_id', '=', groupId).execute()
}

/** The ids of the groups a user belongs to, in id order. */
export async function groupIdsOfUser (db: Db, orgId: string, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('group_memberships').select('group_id')
    .where('organization_id', '=', orgId).where('member_type', '=', 'user').where('member_id', '=', userId)
    .orderBy('group_id').execute()
  return rows.map((r) => r.group_id)
}

/** Subquery: the ids of the groups a user belongs to, for an IN in another owner's query. */
export function groupsOfUser (orgId: string, userId: string) {
  return subquery.selectFrom('group_memberships').select('group_id')
    .where('organization_id', '=', orgId).where('member_type', '=', 'user').where('member_id', '=', userId)
}
