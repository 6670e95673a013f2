import type { Kysely } from 'kysely'
import type { Database, Organization } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError } from '../errors.js'
import { newId } from '../ids.js'

type Db = Kysely<Database>

/** An organization's name is its subdomain-style label (reference §1). */
export const ORG_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

export async function createOrganization (db: Db, name: string): Promise<Organization> {
  if (!ORG_NAME.test(name)) throw new InvalidParameterError('name', 'an organization name is lowercase letters, digits and inner hyphens, at most 63 characters')
  try {
    return await db.insertInto('organizations').values({ id: newId(), name }).returningAll().executeTakeFirstOrThrow()
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`organization ${name} already exists`, 'name')
    throw err
  }
}

/** The org of that name; undefined for a name no org can have (so no odd byte reaches SQL). */
export async function findOrganizationByName (db: Db, name: string): Promise<Organization | undefined> {
  if (!ORG_NAME.test(name)) return undefined
  return await db.selectFrom('organizations').selectAll().where('name', '=', name).executeTakeFirst()
}

export async function countOrganizations (db: Db): Promise<number> {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}
