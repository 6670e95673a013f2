// Rules on a group that reach other tables.
import * as groups from '../registry/groups.js'
import { deleteAuthorizationsOfEntity } from '../store/client-authorizations.js'
import type { Db } from '../store/db.js'
import { deleteMembershipsOfGroup } from '../store/group-memberships.js'

/**
 * Removes the group with its memberships and the client authorizations that list it, in one
 * transaction. client_authorizations.entity_id names a user or a group, so it has no foreign key
 * and no cascade would clear those rows.
 */
export async function deleteGroup (db: Db, orgId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await groups.deleteGroupRow(trx, orgId, id)
    await deleteMembershipsOfGroup(trx, orgId, id)
    await deleteAuthorizationsOfEntity(trx, orgId, 'group', id)
  })
}
