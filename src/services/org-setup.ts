import type { Kysely } from 'kysely'
import type { Database, Organization } from '../db/schema.js'
import type { SecretBox } from '../keys/secret-box.js'
import { createClient, type ClientWithSecret } from '../registry/clients.js'
import { createOrganization } from '../registry/organizations.js'
import { createUser, type PublicUser } from '../registry/users.js'

export interface OrgSetupInput {
  orgName: string
  adminEmail: string
  adminPublicKey?: string | null
  adminPasswordHash?: string | null
  /** When set, also registers an API client with the JWT grant enabled. */
  clientName?: string
}

export interface OrgSetup { org: Organization, admin: PublicUser, client?: ClientWithSecret }

/** An organization with its first administrator (and optionally a client), all or nothing. */
export async function setUpOrganization (db: Kysely<Database>, box: SecretBox, input: OrgSetupInput): Promise<OrgSetup> {
  return await db.transaction().execute(async (trx) => {
    const org = await createOrganization(trx, input.orgName)
    const admin = await createUser(trx, org.id, {
      email: input.adminEmail,
      name: 'Administrator',
      organization_admin: true,
      public_key: input.adminPublicKey ?? null
    }, input.adminPasswordHash ?? null)
    const client = input.clientName
      ? await createClient(trx, box, org.id, { name: input.clientName, jwt_grant_enabled: true }, admin.id)
      : undefined
    return { org, admin, client }
  })
}
