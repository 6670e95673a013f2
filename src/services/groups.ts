// Groups' changes with their audit events; a deletion reaches the memberships and authorizations.
import type { Group } from '../db/schema.js'
import { changesOf, type AuditSource } from '../registry/audit-events.js'
import * as groups from '../registry/groups.js'
import { deleteAuthorizationsOfEntity } from '../store/client-authorizations.js'
import type { Db } from '../store/db.js'
import { deleteMembershipsOfGroup } from '../store/group-memberships.js'
import { audited } from './audit.js'

const targetOf = (g: { id: string, name: string }) => ({ type: 'group', id: g.id, name: g.name })

export async function createGroup (db: Db, src: AuditSource, fields: groups.GroupFields & { name: string }): Promise<Group> {
  return await audited(db, src, async (trx, audit) => {
    const created = await groups.createGroup(trx, src.organizationId!, fields)
    await audit({ eventType: 'group.created', target: targetOf(created), changes: changesOf(undefined, created, ['name', 'description']) })
    return created
  })
}

export async function updateGroup (db: Db, src: AuditSource, id: string, fields: groups.GroupFields): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await groups.getGroup(trx, src.organizationId!, id)
    await groups.updateGroup(trx, src.organizationId!, id, fields)
    const after = await groups.getGroup(trx, src.organizationId!, id)
    await audit({ eventType: 'group.updated', target: targetOf(after), changes: changesOf(before, after, ['name', 'description'].filter((f) => f in fields)) })
  })
}

/**
 * Removes the group with its memberships and the client authorizations that list it, in one
 * transaction. client_authorizations.entity_id names a user or a group, so it has no foreign key
 * and no cascade would clear those rows.
 */
export async function deleteGroup (db: Db, src: AuditSource, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const orgId = src.organizationId!
    const before = await groups.getGroup(trx, orgId, id)
    await groups.deleteGroupRow(trx, orgId, id)
    await deleteMembershipsOfGroup(trx, orgId, id)
    await deleteAuthorizationsOfEntity(trx, orgId, 'group', id)
    await audit({ eventType: 'group.deleted', target: targetOf(before) })
  })
}
