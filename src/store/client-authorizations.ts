// Owner of the `client_authorizations` table: the users and groups listed for a client.
import type { ClientAuthorization } from '../db/schema.js'
import { newId } from '../ids.js'
import type { Db } from './db.js'
import { groupsOfUser } from './group-memberships.js'
import { listPage, pageOf, type ListQuery, type Listed } from './paging.js'

/** What an authorization lists: a user directly, or every member of a group. */
export type EntityType = 'user' | 'group'

/** Filters of `GET /client_authorizations`, with paging. */
export interface ClientAuthorizationQuery extends Omit<ListQuery, 'q'> {
  client_id?: string
  entity_type?: EntityType
  entity_id?: string
}

const COLUMNS = ['id', 'organization_id', 'client_id', 'entity_type', 'entity_id', 'created_at'] as const

/** Inserts an authorization; a duplicate or a vanished client fails with its constraint (the caller maps it). */
export async function insertClientAuthorization (db: Db, orgId: string, fields: { client_id: string, entity_type: EntityType, entity_id: string }): Promise<ClientAuthorization> {
  return await db.insertInto('client_authorizations').values({ id: newId(), organization_id: orgId, ...fields }).returning(COLUMNS).executeTakeFirstOrThrow()
}

/** A page of the org's authorizations, filtered by client and entity, in a stable order. */
export async function listClientAuthorizations (db: Db, orgId: string, query: ClientAuthorizationQuery): Promise<Listed<ClientAuthorization>> {
  let base = db.selectFrom('client_authorizations').where('organization_id', '=', orgId)
  if (query.client_id !== undefined) base = base.where('client_id', '=', query.client_id)
  if (query.entity_type !== undefined) base = base.where('entity_type', '=', query.entity_type)
  if (query.entity_id !== undefined) base = base.where('entity_id', '=', query.entity_id)
  return await listPage(db, base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => qb.orderBy('created_at').orderBy('id'))
}

export async function findClientAuthorization (db: Db, orgId: string, id: string): Promise<ClientAuthorization | undefined> {
  return await db.selectFrom('client_authorizations').select(COLUMNS).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** Deletes one authorization; false when there was none. */
export async function deleteClientAuthorizationRow (db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('client_authorizations').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numDeletedRows > 0n
}

/**
 * Deletes the authorizations that list this user or group (which is deleted). entity_id names a
 * user or a group, so it has no foreign key and no cascade would clear these rows.
 */
export async function deleteAuthorizationsOfEntity (db: Db, orgId: string, entityType: EntityType, entityId: string): Promise<void> {
  await db.deleteFrom('client_authorizations')
    .where('organization_id', '=', orgId).where('entity_type', '=', entityType).where('entity_id', '=', entityId).execute()
}

/**
 * Whether the user is a "listed user" of the client (`whitelist_enabled`): listed directly, or
 * through a group it belongs to. For the token endpoint; one query, no cache, so a change counts
 * on the very next request.
 */
export async function isUserListed (db: Db, orgId: string, clientId: string, userId: string): Promise<boolean> {
  const row = await listingsOfUser(db, orgId, clientId, userId).select('ca.id').limit(1).executeTakeFirst()
  return row !== undefined
}

/** The client's authorizations that list the user: its own, and those of the groups it belongs to. */
function listingsOfUser (db: Db, orgId: string, clientId: string, userId: string) {
  return db.selectFrom('client_authorizations as ca')
    .where('ca.organization_id', '=', orgId)
    .where('ca.client_id', '=', clientId)
    .where((eb) => eb.or([
      eb.and([eb('ca.entity_type', '=', 'user'), eb('ca.entity_id', '=', userId)]),
      eb.and([eb('ca.entity_type', '=', 'group'), eb('ca.entity_id', 'in', groupsOfUser(orgId, userId))])
    ]))
}

/**
 * How the user is listed for the client: directly, and through which of its groups (ids in order).
 * For the explain route (GET /clients/{id}/access), which says why, where isUserListed says whether.
 */
export async function listingOfUser (db: Db, orgId: string, clientId: string, userId: string): Promise<{ direct: boolean, groupIds: string[] }> {
  const rows = await listingsOfUser(db, orgId, clientId, userId).select(['ca.entity_type', 'ca.entity_id']).orderBy('ca.entity_id').execute()
  return {
    direct: rows.some((r) => r.entity_type === 'user'),
    groupIds: [...new Set(rows.filter((r) => r.entity_type === 'group').map((r) => r.entity_id))]
  }
}
