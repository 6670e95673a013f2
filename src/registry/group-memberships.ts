// Group memberships: the rules on one membership's row. Creating one checks the group and the user:
// services/group-memberships.ts.
import type { GroupMembership } from '../db/schema.js'
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import type { Db } from '../store/db.js'
import * as store from '../store/group-memberships.js'
import type { Listed } from '../store/paging.js'

export type { MembershipQuery } from '../store/group-memberships.js'

/** What a caller gives to put a user in a group. */
export interface MembershipFields {
  group_id: string
  member_type: 'user'
  member_id: string
}

/**
 * Inserts the membership; a duplicate is a 409, and a group or user deleted since the caller's
 * check fails its foreign key: a 422 naming the field.
 */
export async function insertMembership (db: Db, orgId: string, fields: MembershipFields): Promise<GroupMembership> {
  try {
    return await store.insertMembership(db, orgId, fields)
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
export async function listMemberships (db: Db, orgId: string, query: store.MembershipQuery): Promise<Listed<GroupMembership>> {
  return await store.listMemberships(db, orgId, query)
}

/** The membership of this organization with this id; another organization's is a NotFoundError. */
export async function getMembership (db: Db, orgId: string, id: string): Promise<GroupMembership> {
  const row = await store.findMembership(db, orgId, id)
  if (!row) throw new NotFoundError('group membership')
  return row
}

/** Takes a user out of a group. */
export async function deleteMembership (db: Db, orgId: string, id: string): Promise<void> {
  if (!await store.deleteMembershipRow(db, orgId, id)) throw new NotFoundError('group membership')
}

/**
 * The ids of the groups a user belongs to, for the token endpoint's policy ("listed through a
 * group", docs/aoc-compatibility.md §7). Empty for an unknown user or one of another organization.
 */
export async function groupIdsOfUser (db: Db, orgId: string, userId: string): Promise<string[]> {
  return await store.groupIdsOfUser(db, orgId, userId)
}
