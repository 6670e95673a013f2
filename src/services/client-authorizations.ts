// Listing a user or a group on a client: the client and the entity must be the organization's;
// each change is audited.
import type { ClientAuthorization } from '../db/schema.js'
import { InvalidParameterError } from '../errors.js'
import type { AuditSource } from '../registry/audit-events.js'
import * as authorizations from '../registry/client-authorizations.js'
import { clientExists } from '../store/clients.js'
import type { Db } from '../store/db.js'
import { groupExists } from '../store/groups.js'
import { userExists } from '../store/users.js'
import { audited } from './audit.js'

const changesOf = (a: { client_id: string, entity_type: string, entity_id: string }) =>
  [{ field: 'client_id', new_value: a.client_id }, { field: 'entity_type', new_value: a.entity_type }, { field: 'entity_id', new_value: a.entity_id }]

/**
 * Lists a user or group on a client. Client and entity must be the caller's org's (422 naming the
 * field otherwise); a second identical row is a 409. The checks lock the rows they read, so a
 * concurrent delete of the user or group waits and then removes this row with the others.
 */
export async function createClientAuthorization (db: Db, src: AuditSource, fields: authorizations.ClientAuthorizationFields): Promise<ClientAuthorization> {
  return await audited(db, src, async (trx, audit) => {
    const orgId = src.organizationId!
    if (!await clientExists(trx, orgId, fields.client_id, true)) throw new InvalidParameterError('client_id', 'client_id is not a client of this organization')
    const exists = fields.entity_type === 'user' ? userExists : groupExists
    if (!await exists(trx, orgId, fields.entity_id, true)) throw new InvalidParameterError('entity_id', `entity_id is not a ${fields.entity_type} of this organization`)
    const created = await authorizations.insertClientAuthorization(trx, orgId, fields)
    await audit({ eventType: 'client_authorization.created', target: { type: 'client_authorization', id: created.id }, changes: changesOf(created) })
    return created
  })
}

/** Removes one authorization: the user (or the group's members) is no longer listed. */
export async function deleteClientAuthorization (db: Db, src: AuditSource, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await authorizations.getClientAuthorization(trx, src.organizationId!, id)
    await authorizations.deleteClientAuthorization(trx, src.organizationId!, id)
    await audit({ eventType: 'client_authorization.deleted', target: { type: 'client_authorization', id }, changes: changesOf(before).map(({ field, new_value: v }) => ({ field, old_value: v })) })
  })
}
