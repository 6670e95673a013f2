import type { Kysely } from 'kysely'
import type { Database, GroupMembership } from '../db/schema.js'
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import { newId } from '../ids.js'
import { listPage, pageOf, type Listed } from './paging.js'

type Db = Kysely<Database>

/** What a caller gives to put a user in a group. */
export interface MembershipFields {
  group_id: string
  member_type: 'user'
  member_id: string
}

/** Filters and paging of GET /group_memberships. */
export interface MembershipQuery {
  page?: number
  per_page?: number
  group_id?: string
  member_id?: string
}

const COLUMNS = ['id', 'organization_id', 'group_id', 'member_type', 'member_id', 'created_at'] as const

/**
 * Puts a user in a group. Both must belong to the organization: another organization's id is
 * answered as unknown (422 naming the field), so ids of other organizations cannot be probed.
 * A row deleted between the check and the insert fails its foreign key: the same 422.
 */
export async function createMembership (db: Db, orgId: string, fields: MembershipFields): Promise<GroupMembership> {
  const group = await db.selectFrom('groups').select('id')
    .where('organization_id', '=', orgId).where('id', '=', fields.group_id).executeTakeFirst()
  if (!group) throw new InvalidParameterError('group_id', 'group_id is not a group of this organization')
  const user = await db.selectFrom('users').select('id')
    .where('organization_id', '=', orgId).where('id', '=', fields.member_id).executeTakeFirst()
  if (!user) throw new InvalidParameterError('member_id', 'member_id is not a user of this organization')
  try {
    return await db.insertInto('group_memberships').values({
      id: newId(),
      organization_id: orgId,
      group_id: fields.group_id,
      member_type: fields.member_type,
      member_id: fields.member_id
    }).returning(COLUMNS).executeTakeFirstOrThrow()
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('this user is already a member of this group', 'member_id')
    if (isForeignKeyViolation(err)) {
      const param = /group_id/.test(String((err as { constraint?: unknown }).constraint)) ? 'group_id' : 'member_id'
      throw new InvalidParameterError(param, `${param} was deleted meanwhile`)
    }
    throw err
  }
}

/** A page of the organization's memberships, optionally of one group and/or one member. */
export async function listMemberships (db: Db, orgId: string, query: MembershipQuery): Promise<Listed<GroupMembership>> {
  let base = db.selectFrom('group_memberships').where('organization_id', '=', orgId)
  if (query.group_id !== undefined) base = base.where('group_id', '=', query.group_id)
  if (query.member_id !== undefined) base = base.where('member_id', '=', query.member_id)
  return await listPage(base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => qb.orderBy('created_at').orderBy('id'))
}

/** The membership of this organization with this id; another organization's is a NotFoundError. */
export async function getMembership (db: Db, orgId: string, id: string): Promise<GroupMembership> {
  const row = await db.selectFrom('group_memberships').select(COLUMNS)
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  if (!row) throw new NotFoundError('group membership')
  return row
}

/** Takes a user out of a group. */
export async function deleteMembership (db: Db, orgId: string, id: string): Promise<void> {
  const res = await db.deleteFrom('group_memberships').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  if (res.numDeletedRows === 0n) throw new NotFoundError('group membership')
}

/**
 * The ids of the groups a user belongs to, for the token endpoint's policy ("listed through a
 * group", reference §7). Empty for an unknown user or one of another organization.
 */
export async function groupIdsOfUser (db: Db, orgId: string, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('group_memberships').select('group_id')
    .where('organization_id', '=', orgId).where('member_type', '=', 'user').where('member_id', '=', userId)
    .orderBy('group_id').execute()
  return rows.map((r) => r.group_id)
}
