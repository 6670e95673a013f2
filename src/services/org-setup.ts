import type { Kysely } from 'kysely'
import type { AuditEvent, Database, Organization } from '../db/schema.js'
import type { SecretBox } from '../keys/secret-box.js'
import { keyFingerprint, logAuditEvent, writeAuditEvent, type AuditInput, type AuditSource } from '../registry/audit-events.js'
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

/**
 * An organization with its first administrator (and optionally a client), all or nothing, with
 * their audit events in the same transaction; `src` names who set it up (the CLI, the bootstrap).
 */
export async function setUpOrganization (db: Kysely<Database>, box: SecretBox, input: OrgSetupInput, src: Omit<AuditSource, 'organizationId'>): Promise<OrgSetup> {
  const events: AuditEvent[] = []
  let orgSource: AuditSource | undefined
  const setup = await db.transaction().execute(async (trx) => {
    const org = await createOrganization(trx, input.orgName)
    orgSource = { ...src, organizationId: org.id }
    const audit = async (input: AuditInput) => { events.push(await writeAuditEvent(trx, orgSource!, input)) }
    await audit({ eventType: 'organization.created', target: { type: 'organization', id: org.id, name: org.name } })
    const admin = await createUser(trx, org.id, {
      email: input.adminEmail,
      name: 'Administrator',
      organization_admin: true,
      public_key: input.adminPublicKey ?? null
    }, input.adminPasswordHash ?? null)
    await audit({
      eventType: 'user.created',
      target: { type: 'user', id: admin.id, name: admin.email },
      changes: [{ field: 'organization_admin', new_value: true }, ...(admin.public_key ? [{ field: 'public_key', new_value: keyFingerprint(admin.public_key) }] : [])]
    })
    const client = input.clientName
      ? await createClient(trx, box, org.id, { name: input.clientName, jwt_grant_enabled: true }, admin.id)
      : undefined
    if (client) await audit({ eventType: 'client.created', target: { type: 'client', id: client.id, name: client.name }, changes: [{ field: 'jwt_grant_enabled', new_value: true }] })
    return { org, admin, client }
  })
  for (const event of events) logAuditEvent(orgSource!, event)
  return setup
}
