// Group memberships: the group and the user must be the organization's; each change is audited.
import type { GroupMembership } from '../db/schema.js'
import { InvalidParameterError } from '../errors.js'
import type { AuditSource } from '../registry/audit-events.js'
import * as memberships from '../registry/group-memberships.js'
import type { Db } from '../store/db.js'
import { groupExists } from '../store/groups.js'
import { userExists } from '../store/users.js'
import { audited } from './audit.js'

const changesOf = (m: { group_id: string, member_type: string, member_id: string }) =>
  [{ field: 'group_id', new_value: m.group_id }, { field: 'member_type', new_value: m.member_type }, { field: 'member_id', new_value: m.member_id }]

/**
 * Puts a user in a group. Both must belong to the organization: another organization's id is
 * answered as unknown (422 naming the field), so ids of other organizations cannot be probed.
 * A row deleted between the check and the insert fails its foreign key: the same 422.
 */
export async function createMembership (db: Db, src: AuditSource, fields: memberships.MembershipFields): Promise<GroupMembership> {
  return await audited(db, src, async (trx, audit) => {
    const orgId = src.organizationId!
    if (!await groupExists(trx, orgId, fields.group_id)) throw new InvalidParameterError('group_id', 'group_id is not a group of this organization')
    if (!await userExists(trx, orgId, fields.member_id)) throw new InvalidParameterError('member_id', 'member_id is not a user of this organization')
    const created = await memberships.insertMembership(trx, orgId, fields)
    await audit({ eventType: 'group_membership.created', target: { type: 'group_membership', id: created.id }, changes: changesOf(created) })
    return created
  })
}

/** Takes a user out of a group. */
export async function deleteMembership (db: Db, src: AuditSource, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await memberships.getMembership(trx, src.organizationId!, id)
    await memberships.deleteMembership(trx, src.organizationId!, id)
    await audit({ eventType: 'group_membership.deleted', target: { type: 'group_membership', id }, changes: changesOf(before).map(({ field, new_value: v }) => ({ field, old_value: v })) })
  })
}
