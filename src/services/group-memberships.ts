// Putting a user in a group: the group and the user must be the organization's.
import { InvalidParameterError } from '../errors.js'
import * as memberships from '../registry/group-memberships.js'
import type { GroupMembership } from '../db/schema.js'
import type { Db } from '../store/db.js'
import { groupExists } from '../store/groups.js'
import { userExists } from '../store/users.js'

/**
 * Puts a user in a group. Both must belong to the organization: another organization's id is
 * answered as unknown (422 naming the field), so ids of other organizations cannot be probed.
 * A row deleted between the check and the insert fails its foreign key: the same 422.
 */
export async function createMembership (db: Db, orgId: string, fields: memberships.MembershipFields): Promise<GroupMembership> {
  if (!await groupExists(db, orgId, fields.group_id)) throw new InvalidParameterError('group_id', 'group_id is not a group of this organization')
  if (!await userExists(db, orgId, fields.member_id)) throw new InvalidParameterError('member_id', 'member_id is not a user of this organization')
  return await memberships.insertMembership(db, orgId, fields)
}
