// Client authorizations (the "listed users" of a client): the rules on one row. Creating one checks
// the client and the entity: services/client-authorizations.ts.
import type { ClientAuthorization } from '../db/schema.js'
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import * as store from '../store/client-authorizations.js'
import type { Db } from '../store/db.js'
import type { Listed } from '../store/paging.js'

export type { ClientAuthorizationQuery, EntityType } from '../store/client-authorizations.js'

/** The fields a caller gives to list a user or a group on a client (docs/aoc-compatibility.md §7). */
export interface ClientAuthorizationFields {
  client_id: string
  entity_type: store.EntityType
  entity_id: string
}

/** Inserts the authorization; a second identical row is a 409, a vanished client a 422. */
export async function insertClientAuthorization (db: Db, orgId: string, fields: ClientAuthorizationFields): Promise<ClientAuthorization> {
  try {
    return await store.insertClientAuthorization(db, orgId, fields)
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`this ${fields.entity_type} is already authorized for this client`, 'entity_id')
    if (isForeignKeyViolation(err)) throw new InvalidParameterError('client_id', 'client_id is not a client of this organization')
    throw err
  }
}

/** A page of the org's authorizations, filtered by client and entity, in a stable order. */
export async function listClientAuthorizations (db: Db, orgId: string, query: store.ClientAuthorizationQuery): Promise<Listed<ClientAuthorization>> {
  return await store.listClientAuthorizations(db, orgId, query)
}

/** One authorization of the org; another org's id is a 404. */
export async function getClientAuthorization (db: Db, orgId: string, id: string): Promise<ClientAuthorization> {
  const row = await store.findClientAuthorization(db, orgId, id)
  if (!row) throw new NotFoundError('client authorization')
  return row
}

/** Removes one authorization: the user (or the group's members) is no longer listed. */
export async function deleteClientAuthorization (db: Db, orgId: string, id: string): Promise<void> {
  if (!await store.deleteClientAuthorizationRow(db, orgId, id)) throw new NotFoundError('client authorization')
}
