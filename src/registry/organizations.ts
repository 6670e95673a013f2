// Organizations: their names, which are subdomain-style labels.
import type { Organization } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError } from '../errors.js'
import { ORG_NAME } from '../paths.js'
import type { Db } from '../store/db.js'
import * as store from '../store/organizations.js'

export { ORG_NAME } from '../paths.js'

export async function createOrganization (db: Db, name: string): Promise<Organization> {
  if (!ORG_NAME.test(name)) throw new InvalidParameterError('name', 'an organization name is lowercase letters, digits and inner hyphens, at most 63 characters')
  try {
    return await store.insertOrganization(db, name)
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`organization ${name} already exists`, 'name')
    throw err
  }
}

/** The org of that name; undefined for a name no org can have (so no odd byte reaches SQL). */
export async function findOrganizationByName (db: Db, name: string): Promise<Organization | undefined> {
  if (!ORG_NAME.test(name)) return undefined
  return await store.findOrganizationRowByName(db, name)
}

export async function countOrganizations (db: Db): Promise<number> {
  return await store.countOrganizationRows(db)
}
