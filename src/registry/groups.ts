import { sql, type Kysely } from 'kysely'
import type { Database, Group } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, NotFoundError } from '../errors.js'
import { newId } from '../ids.js'
import { containsPattern, exactMatchesFirst, listPage, pageOf, type ListQuery, type Listed } from './paging.js'

type Db = Kysely<Database>

/** The fields of a group that a caller sets. */
export interface GroupFields {
  name?: string
  description?: string
}

const COLUMNS = ['id', 'organization_id', 'name', 'description', 'created_at', 'updated_at'] as const

function conflictOnName (err: unknown): never {
  if (isUniqueViolation(err)) throw new ConflictError('a group with this name already exists in the organization', 'name')
  throw err
}

/** Creates a group; its name is unique in the organization, without case (409 otherwise). */
export async function createGroup (db: Db, orgId: string, fields: GroupFields & { name: string }): Promise<Group> {
  try {
    return await db.insertInto('groups').values({
      id: newId(),
      organization_id: orgId,
      name: fields.name,
      description: fields.description ?? ''
    }).returning(COLUMNS).executeTakeFirstOrThrow()
  } catch (err) { return conflictOnName(err) }
}

/** The group of this organization with this id, if any. */
export async function findGroup (db: Db, orgId: string, id: string): Promise<Group | undefined> {
  return await db.selectFrom('groups').select(COLUMNS)
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** As findGroup, but a missing group (or another organization's) is a NotFoundError. */
export async function getGroup (db: Db, orgId: string, id: string): Promise<Group> {
  const group = await findGroup(db, orgId, id)
  if (!group) throw new NotFoundError('group')
  return group
}

/** A page of the organization's groups; `q` is a substring of the name, without case. */
export async function listGroups (db: Db, orgId: string, query: ListQuery): Promise<Listed<Group>> {
  let base = db.selectFrom('groups').where('organization_id', '=', orgId)
  if (query.q) base = base.where('name', 'ilike', containsPattern(query.q))
  return await listPage(base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, query.q, ['name']).orderBy('created_at').orderBy('id'))
}

/** Changes the given fields; a name taken by another group is a ConflictError. */
export async function updateGroup (db: Db, orgId: string, id: string, fields: GroupFields): Promise<void> {
  const values: GroupFields = {}
  if (fields.name !== undefined) values.name = fields.name
  if (fields.description !== undefined) values.description = fields.description
  try {
    const res = await db.updateTable('groups').set({ ...values, updated_at: sql<Date>`now()` })
      .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    if (res.numUpdatedRows === 0n) throw new NotFoundError('group')
  } catch (err) { conflictOnName(err) }
}

/**
 * Removes the group with its memberships and the client authorizations that list it, in one
 * transaction. client_authorizations.entity_id names a user or a group, so it has no foreign key
 * and no cascade would clear those rows.
 */
export async function deleteGroup (db: Db, orgId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const res = await trx.deleteFrom('groups').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    if (res.numDeletedRows === 0n) throw new NotFoundError('group')
    await trx.deleteFrom('group_memberships').where('organization_id', '=', orgId).where('group_id', '=', id).execute()
    await trx.deleteFrom('client_authorizations')
      .where('organization_id', '=', orgId).where('entity_type', '=', 'group').where('entity_id', '=', id).execute()
  })
}
