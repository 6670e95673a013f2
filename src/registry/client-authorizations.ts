import type { Kysely } from 'kysely'
import type { ClientAuthorization, Database } from '../db/schema.js'
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import { newId } from '../ids.js'
import { listPage, pageOf, type ListQuery, type Listed } from './paging.js'

type Db = Kysely<Database>

/** What an authorization lists: a user directly, or every member of a group. */
export type EntityType = 'user' | 'group'

/** The fields a caller gives to list a user or a group on a client (reference §7). */
export interface ClientAuthorizationFields {
  client_id: string
  entity_type: EntityType
  entity_id: string
}

/** Filters of `GET /client_authorizations`, with paging. */
export interface ClientAuthorizationQuery extends Omit<ListQuery, 'q'> {
  client_id?: string
  entity_type?: EntityType
  entity_id?: string
}

const COLUMNS = ['id', 'organization_id', 'client_id', 'entity_type', 'entity_id', 'created_at'] as const

/**
 * Lists a user or group on a client. Client and entity must be the caller's org's (422 naming the
 * field otherwise); a second identical row is a 409. The checks lock the rows they read, so a
 * concurrent delete of the user or group waits and then removes this row with the others.
 */
export async function createClientAuthorization (db: Db, orgId: string, fields: ClientAuthorizationFields): Promise<ClientAuthorization> {
  try {
    return await db.transaction().execute(async (trx) => {
      const client = await trx.selectFrom('clients').select('id')
        .where('organization_id', '=', orgId).where('id', '=', fields.client_id).forShare().executeTakeFirst()
      if (!client) throw new InvalidParameterError('client_id', 'client_id is not a client of this organization')
      const table = fields.entity_type === 'user' ? 'users' : 'groups'
      const entity = await trx.selectFrom(table).select('id')
        .where('organization_id', '=', orgId).where('id', '=', fields.entity_id).forShare().executeTakeFirst()
      if (!entity) throw new InvalidParameterError('entity_id', `entity_id is not a ${fields.entity_type} of this organization`)
      return await trx.insertInto('client_authorizations').values({
        id: newId(),
        organization_id: orgId,
        client_id: fields.client_id,
        entity_type: fields.entity_type,
        entity_id: fields.entity_id
      }).returning(COLUMNS).executeTakeFirstOrThrow()
    })
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`this ${fields.entity_type} is already authorized for this client`, 'entity_id')
    if (isForeignKeyViolation(err)) throw new InvalidParameterError('client_id', 'client_id is not a client of this organization')
    throw err
  }
}

/** A page of the org's authorizations, filtered by client and entity, in a stable order. */
export async function listClientAuthorizations (db: Db, orgId: string, query: ClientAuthorizationQuery): Promise<Listed<ClientAuthorization>> {
  let base = db.selectFrom('client_authorizations').where('organization_id', '=', orgId)
  if (query.client_id !== undefined) base = base.where('client_id', '=', query.client_id)
  if (query.entity_type !== undefined) base = base.where('entity_type', '=', query.entity_type)
  if (query.entity_id !== undefined) base = base.where('entity_id', '=', query.entity_id)
  return await listPage(base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => qb.orderBy('created_at').orderBy('id'))
}

/** One authorization of the org; another org's id is a 404. */
export async function getClientAuthorization (db: Db, orgId: string, id: string): Promise<ClientAuthorization> {
  const row = await db.selectFrom('client_authorizations').select(COLUMNS)
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  if (!row) throw new NotFoundError('client authorization')
  return row
}

/** Removes one authorization: the user (or the group's members) is no longer listed. */
export async function deleteClientAuthorization (db: Db, orgId: string, id: string): Promise<void> {
  const res = await db.deleteFrom('client_authorizations').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  if (res.numDeletedRows === 0n) throw new NotFoundError('client authorization')
}

/**
 * Whether the user is a "listed user" of the client (`whitelist_enabled`): listed directly, or
 * through a group it belongs to. For the token endpoint; one query, no cache, so a change counts
 * on the very next request.
 */
export async function isUserListed (db: Db, orgId: string, clientId: string, userId: string): Promise<boolean> {
  const row = await db.selectFrom('client_authorizations as ca').select('ca.id')
    .where('ca.organization_id', '=', orgId)
    .where('ca.client_id', '=', clientId)
    .where((eb) => eb.or([
      eb.and([eb('ca.entity_type', '=', 'user'), eb('ca.entity_id', '=', userId)]),
      eb.and([
        eb('ca.entity_type', '=', 'group'),
        eb('ca.entity_id', 'in', eb.selectFrom('group_memberships as gm').select('gm.group_id')
          .where('gm.organization_id', '=', orgId)
          .where('gm.member_type', '=', 'user')
          .where('gm.member_id', '=', userId))
      ])
    ]))
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}
