// Owner of the `organizations` table.
import type { Expression } from 'kysely'
import type { Organization } from '../db/schema.js'
import { newId } from '../ids.js'
import { subquery, type Db } from './db.js'

/** Inserts an organization; a taken name fails with the unique violation (the caller maps it). */
export async function insertOrganization (db: Db, name: string): Promise<Organization> {
  return await db.insertInto('organizations').values({ id: newId(), name }).returningAll().executeTakeFirstOrThrow()
}

/** The organization of that name. */
export async function findOrganizationRowByName (db: Db, name: string): Promise<Organization | undefined> {
  return await db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst()
}

/** How many organizations exist (bootstrap runs on none). */
export async function countOrganizationRows (db: Db): Promise<number> {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Subquery: the name of the organization with this id (null when there is none). */
export function organizationNameOf (orgId: Expression<string>) {
  return subquery.selectFrom('organizations').select('name').where('id', '=', orgId)
}
