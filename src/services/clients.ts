// API clients' changes, each with its audit event in the same transaction.
import type { AuditSource } from '../registry/audit-events.js'
import { changesOf } from '../registry/audit-events.js'
import * as clients from '../registry/clients.js'
import type { SecretBox } from '../keys/secret-box.js'
import { findClientRow } from '../store/clients.js'
import type { Db } from '../store/db.js'
import { audited } from './audit.js'

/** The fields an event shows of a client: everything a caller sets, the global key as its fingerprint. */
const CLIENT_FIELDS = ['name', 'redirect_uris', 'origins', 'explicit_authorization_required', 'jwt_grant_enabled',
  'admin_node_token_retrieval_enabled', 'public_key', 'whitelist_enabled', 'token_endpoint_auth_method'] as const

const targetOf = (c: { id: string, name: string }) => ({ type: 'client', id: c.id, name: c.name })

export async function createClient (db: Db, box: SecretBox, src: AuditSource, fields: clients.ClientFields & { name: string }, creatorId: string | null): Promise<clients.ClientWithSecret> {
  return await audited(db, src, async (trx, audit) => {
    const created = await clients.createClient(trx, box, src.organizationId!, fields, creatorId)
    await audit({ eventType: 'client.created', target: targetOf(created), changes: changesOf(undefined, created as unknown as Record<string, unknown>, CLIENT_FIELDS) })
    return created
  })
}

export async function updateClient (db: Db, src: AuditSource, id: string, fields: clients.ClientFields): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await findClientRow(trx, src.organizationId!, id)
    await clients.updateClient(trx, src.organizationId!, id, fields)
    const after = await findClientRow(trx, src.organizationId!, id)
    const changes = changesOf(before as unknown as Record<string, unknown>, after as unknown as Record<string, unknown>, CLIENT_FIELDS.filter((f) => f in fields))
    await audit({ eventType: 'client.updated', target: targetOf(after!), changes })
  })
}

export async function deleteClient (db: Db, src: AuditSource, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await findClientRow(trx, src.organizationId!, id)
    await clients.deleteClient(trx, src.organizationId!, id)
    await audit({ eventType: 'client.deleted', target: targetOf(before!) })
  })
}

export async function rotateClientSecret (db: Db, box: SecretBox, src: AuditSource, id: string): Promise<string> {
  return await audited(db, src, async (trx, audit) => {
    const secret = await clients.rotateClientSecret(trx, box, src.organizationId!, id)
    const row = await findClientRow(trx, src.organizationId!, id)
    await audit({ eventType: 'client.secret_rotated', target: targetOf(row!), changes: [{ field: 'secret' }] })
    return secret
  })
}

/** A client with its secret, as an admin reads it: the read is recorded, as a secret was shown. */
export async function readClientWithSecret (db: Db, box: SecretBox, src: AuditSource, id: string): Promise<clients.ClientWithSecret> {
  return await audited(db, src, async (trx, audit) => {
    const client = await clients.getClient(trx, box, src.organizationId!, id)
    if (client.secret !== null) await audit({ eventType: 'client.secret_read', target: targetOf(client) })
    return client
  })
}
