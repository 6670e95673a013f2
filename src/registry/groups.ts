// Groups: the rules on one group's row. Deleting a group reaches other tables: services/groups.ts.
import type { Group } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, NotFoundError } from '../errors.js'
import type { Db } from '../store/db.js'
import * as store from '../store/groups.js'
import type { ListQuery, Listed } from '../store/paging.js'

/** The fields of a group that a caller sets. */
export interface GroupFields {
  name?: string
  description?: string
}

function conflictOnName (err: unknown): never {
  if (isUniqueViolation(err)) throw new ConflictError('a group with this name already exists in the organization', 'name')
  throw err
}

/** Creates a group; its name is unique in the organization, without case (409 otherwise). */
export async function createGroup (db: Db, orgId: string, fields: GroupFields & { name: string }): Promise<Group> {
  try {
    return await store.insertGroup(db, orgId, { name: fields.name, description: fields.description ?? '' })
  } catch (err) { return conflictOnName(err) }
}

/** The group of this organization with this id, if any. */
export async function findGroup (db: Db, orgId: string, id: string): Promise<Group | undefined> {
  return await store.findGroup(db, orgId, id)
}

/** As findGroup, but a missing group (or another organization's) is a NotFoundError. */
export async function getGroup (db: Db, orgId: string, id: string): Promise<Group> {
  const group = await store.findGroup(db, orgId, id)
  if (!group) throw new NotFoundError('group')
  return group
}

/** A page of the organization's groups; `q` is a substring of the name, without case. */
export async function listGroups (db: Db, orgId: string, query: ListQuery): Promise<Listed<Group>> {
  return await store.listGroups(db, orgId, query)
}

/** Changes the given fields; a name taken by another group is a ConflictError. */
export async function updateGroup (db: Db, orgId: string, id: string, fields: GroupFields): Promise<void> {
  const values: GroupFields = {}
  if (fields.name !== undefined) values.name = fields.name
  if (fields.description !== undefined) values.description = fields.description
  try {
    if (!await store.updateGroupRow(db, orgId, id, values)) throw new NotFoundError('group')
  } catch (err) { conflictOnName(err) }
}

/** Deletes the group's row; 404 when there is none. */
export async function deleteGroupRow (db: Db, orgId: string, id: string): Promise<void> {
  if (!await store.deleteGroupRow(db, orgId, id)) throw new NotFoundError('group')
}
