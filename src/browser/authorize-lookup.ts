import type { Kysely } from 'kysely'
import type { Client, Database } from '../db/schema.js'
import { checkAuthorizeRequest, readAuthorizeParams, type AuthorizeCheck, type AuthorizeParams } from '../oauth/authorize-request.js'
import { isPublicClient } from '../registry/clients.js'
import { findClientRow } from '../store/clients.js'

/**
 * Reads an authorization request (query or form) and checks it against the org's client it names.
 * Shared by the authorize endpoint and the login page, which must know where a resumed request ends.
 */
export async function lookUpAuthorizeRequest (
  db: Kysely<Database>, orgId: string, raw: Record<string, unknown>
): Promise<{ params: AuthorizeParams, client: Client | undefined, result: AuthorizeCheck }> {
  const input = readAuthorizeParams(raw)
  const id = input.params.client_id
  const client = id && id.length <= 128 ? await findClientRow(db, orgId, id) : undefined
  const result = checkAuthorizeRequest(input, client && { id: client.id, redirectUris: client.redirect_uris, isPublic: isPublicClient(client) })
  return { params: input.params, client, result }
}
