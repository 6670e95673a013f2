// API clients: validation of their fields, their secrets, and the rules of their kind.
import type { Client } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import { newClientSecret, newId } from '../ids.js'
import { checkedPublicKey } from '../keys/public-key.js'
import type { SecretBox } from '../keys/secret-box.js'
import * as store from '../store/clients.js'
import type { Db } from '../store/db.js'
import type { ListQuery, Listed } from '../store/paging.js'
import { checkOrigin, checkRedirectUri } from './uris.js'

export type { PublicClient, TokenEndpointAuthMethod } from '../store/clients.js'
type TokenEndpointAuthMethod = store.TokenEndpointAuthMethod
type PublicClient = store.PublicClient

/** The values of {@link TokenEndpointAuthMethod}, in the order the API documents them. */
export const TOKEN_ENDPOINT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none']

/** Whether the client is public (registered without a secret). */
export function isPublicClient (client: Pick<Client, 'token_endpoint_auth_method'>): boolean {
  return client.token_endpoint_auth_method === 'none'
}

/** The fields of an API client that a caller sets (docs/aoc-compatibility.md §7). */
export interface ClientFields {
  name?: string
  redirect_uris?: string[]
  origins?: string[]
  explicit_authorization_required?: boolean
  jwt_grant_enabled?: boolean
  admin_node_token_retrieval_enabled?: boolean
  public_key?: string | null
  whitelist_enabled?: boolean
  /** Set at creation only; an update may repeat the same value. */
  token_endpoint_auth_method?: TokenEndpointAuthMethod
}

/** A client with its secret (null for a public client): answered on create and on GET by id, as AoC does. */
export type ClientWithSecret = PublicClient & { secret: string | null }

/** Binds a client's ciphertext to its id, so a secret copied onto another row does not decrypt. */
const boxContext = (clientId: string) => `clients.secret:${clientId}`

const WRITABLE = ['name', 'explicit_authorization_required', 'jwt_grant_enabled', 'admin_node_token_retrieval_enabled', 'whitelist_enabled'] as const

/** Only the writable fields, checked; a stray key (secret_hash, organization_id...) never reaches SQL. */
function checkedFields (fields: ClientFields): store.ClientRowFields {
  const out: Record<string, unknown> = {}
  for (const k of WRITABLE) if (fields[k] !== undefined) out[k] = fields[k]
  if (fields.redirect_uris) out.redirect_uris = JSON.stringify(fields.redirect_uris.map((u, i) => checkRedirectUri(u, `redirect_uris.${i}`)))
  if (fields.origins) out.origins = JSON.stringify(fields.origins.map((o, i) => checkOrigin(o, `origins.${i}`)))
  if (fields.public_key !== undefined) out.public_key = checkedPublicKey(fields.public_key)
  return out as store.ClientRowFields
}

function conflictOnName (err: unknown): never {
  if (isUniqueViolation(err)) throw new ConflictError('a client with this name already exists in the organization', 'name')
  throw err
}

/**
 * Registers a client; a confidential one gets a new secret, answered with it the one time it is
 * made. A public client (`token_endpoint_auth_method` 'none') gets none: both secret columns null.
 */
export async function createClient (db: Db, box: SecretBox, orgId: string, fields: ClientFields & { name: string }, creatorId: string | null): Promise<ClientWithSecret> {
  const id = newId()
  const method = fields.token_endpoint_auth_method ?? 'client_secret_basic'
  const secret = method === 'none' ? null : newClientSecret()
  const values = checkedFields(fields)
  try {
    const row = await store.insertClient(db, orgId, {
      ...values,
      id,
      name: fields.name,
      token_endpoint_auth_method: method,
      secret_encrypted: secret === null ? null : box.encrypt(secret, boxContext(id)),
      secret_hash: secret === null ? null : box.hash(secret),
      creator_id: creatorId
    })
    return { ...row, secret }
  } catch (err) { return conflictOnName(err) }
}

/** A page of the org's clients (`q`: substring of the name), never with secrets. */
export async function listClients (db: Db, orgId: string, query: ListQuery): Promise<Listed<PublicClient>> {
  return await store.listClients(db, orgId, query)
}

/** One client with its decrypted secret, as AoC lets an admin display it again. */
export async function getClient (db: Db, box: SecretBox, orgId: string, id: string): Promise<ClientWithSecret> {
  const row = await store.findClientRow(db, orgId, id)
  if (!row) throw new NotFoundError('client')
  const { secret_encrypted: enc, secret_hash: _hash, ...rest } = row
  return { ...rest, secret: enc === null ? null : box.decrypt(enc, boxContext(id)) }
}

/**
 * Changes the given fields; a new `public_key` is the one checked on the very next request.
 * `token_endpoint_auth_method` is fixed at creation: the same value is accepted, another is a 422.
 */
export async function updateClient (db: Db, orgId: string, id: string, fields: ClientFields): Promise<void> {
  const values = checkedFields(fields)
  const method = fields.token_endpoint_auth_method
  try {
    if (await store.updateClientRow(db, orgId, id, values, method)) return
    if (method !== undefined && await store.clientExists(db, orgId, id)) {
      throw new InvalidParameterError('token_endpoint_auth_method', 'token_endpoint_auth_method is fixed at creation; register a new client to change it')
    }
    throw new NotFoundError('client')
  } catch (err) { conflictOnName(err) }
}

/** Deletes the client; its authorizations go with it (foreign key cascade, one statement). */
export async function deleteClient (db: Db, orgId: string, id: string): Promise<void> {
  if (!await store.deleteClientRow(db, orgId, id)) throw new NotFoundError('client')
}

/** Replaces the secret; the old one stops working at once. Returns the new one. A public client has none: 409. */
export async function rotateClientSecret (db: Db, box: SecretBox, orgId: string, id: string): Promise<string> {
  const secret = newClientSecret()
  if (await store.updateClientSecret(db, orgId, id, { encrypted: box.encrypt(secret, boxContext(id)), hash: box.hash(secret) })) return secret
  if (await store.clientExists(db, orgId, id)) throw new ConflictError('a public client has no secret')
  throw new NotFoundError('client')
}

/** Constant-time check of a presented secret against the stored keyed hash. */
export function clientSecretMatches (box: SecretBox, client: Pick<Client, 'secret_hash'>, presented: string): boolean {
  // A public client has no secret, so none can match.
  return client.secret_hash !== null && box.verify(presented, client.secret_hash)
}

/**
 * The client's secret and hash made again under the box's first key (`keys reencrypt`): the secret
 * is the same, so it still authenticates. Throws the box's SecretBoxError when no key opens it.
 */
export function resealClientSecret (box: SecretBox, row: store.SealedClientSecret): store.SealedClientSecret {
  const secret = box.decrypt(row.secret_encrypted, boxContext(row.id))
  return { id: row.id, secret_encrypted: box.encrypt(secret, boxContext(row.id)), secret_hash: box.hash(secret) }
}
