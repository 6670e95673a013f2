// Owner of the `nodes` table.
import { sql } from 'kysely'
import type { Node } from '../db/schema.js'
import { newId } from '../ids.js'
import type { Db } from './db.js'
import { containsPattern, exactMatchesFirst, listPage, pageOf, type ListQuery, type Listed } from './paging.js'

const COLUMNS = ['id', 'organization_id', 'name', 'url', 'access_key', 'created_at', 'updated_at'] as const

/** The writable columns of a node, checked by the caller. */
export interface NodeRowFields { name?: string, url?: string, access_key?: string }

/** Inserts a node; a taken access key fails with the unique violation (the caller maps it). */
export async function insertNode (db: Db, orgId: string, fields: Required<NodeRowFields>): Promise<Node> {
  return await db.insertInto('nodes').values({ id: newId(), organization_id: orgId, ...fields }).returning(COLUMNS).executeTakeFirstOrThrow()
}

export async function findNode (db: Db, orgId: string, id: string): Promise<Node | undefined> {
  return await db.selectFrom('nodes').select(COLUMNS).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** The node that a `node.<access_key>:…` scope names, if the organization has one. */
export async function findNodeByAccessKey (db: Db, orgId: string, accessKey: string): Promise<Node | undefined> {
  return await db.selectFrom('nodes').select(COLUMNS).where('organization_id', '=', orgId).where('access_key', '=', accessKey).executeTakeFirst()
}

/** Which of these access keys name nodes of the org (the token endpoint's node scopes). */
export async function existingAccessKeys (db: Db, orgId: string, accessKeys: readonly string[]): Promise<string[]> {
  if (accessKeys.length === 0) return []
  const rows = await db.selectFrom('nodes').select('access_key').where('organization_id', '=', orgId).where('access_key', 'in', accessKeys).execute()
  return rows.map((r) => r.access_key)
}

/** A page of the organization's nodes; `q` is a substring of the name, without case. */
export async function listNodes (db: Db, orgId: string, query: ListQuery): Promise<Listed<Node>> {
  let base = db.selectFrom('nodes').where('organization_id', '=', orgId)
  if (query.q) base = base.where('name', 'ilike', containsPattern(query.q))
  return await listPage(db, base, (qb) => qb.select(COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, query.q, ['name']).orderBy('created_at').orderBy('id'))
}

/** Updates the node; false when there is none. */
export async function updateNodeRow (db: Db, orgId: string, id: string, fields: NodeRowFields): Promise<boolean> {
  const res = await db.updateTable('nodes').set({ ...fields, updated_at: sql<Date>`now()` }).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numUpdatedRows > 0n
}

/** Deletes the node; false when there was none. */
export async function deleteNodeRow (db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('nodes').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numDeletedRows > 0n
}
