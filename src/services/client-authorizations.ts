// Listing a user or a group on a client: the client and the entity must be the organization's.
import type { ClientAuthorization } from '../db/schema.js'
import { InvalidParameterError } from '../errors.js'
import { insertClientAuthorization, type ClientAuthorizationFields } from '../registry/client-authorizations.js'
import { clientExists } from '../store/clients.js'
import type { Db } from '../store/db.js'
import { groupExists } from '../store/groups.js'
import { userExists } from '../store/users.js'

/**
 * Lists a user or group on a client. Client and entity must be the caller's org's (422 naming the
 * field otherwise); a second identical row is a 409. The checks lock the rows they read, so a
 * concurrent delete of the user or group waits and then removes this row with the others.
 */
export async function createClientAuthorization (db: Db, orgId: string, fields: ClientAuthorizationFields): Promise<ClientAuthorization> {
  return await db.transaction().execute(async (trx) => {
    if (!await clientExists(trx, orgId, fields.client_id, true)) throw new InvalidParameterError('client_id', 'client_id is not a client of this organization')
    const exists = fields.entity_type === 'user' ? userExists : groupExists
    if (!await exists(trx, orgId, fields.entity_id, true)) throw new InvalidParameterError('entity_id', `entity_id is not a ${fields.entity_type} of this organization`)
    return await insertClientAuthorization(trx, orgId, fields)
  })
}
