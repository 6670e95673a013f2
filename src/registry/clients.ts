import { sql, type Kysely } from 'kysely'
import type { Client, Database } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import { newClientSecret, newId } from '../ids.js'
import type { SecretBox } from '../keys/secret-box.js'
import { containsPattern, exactMatchesFirst, listPage, pageOf, type ListQuery, type Listed } from './paging.js'
import { checkedPublicKey } from './users.js'
import { checkOrigin, checkRedirectUri } from './uris.js'

type Db = Kysely<Database>

/**
 * RFC 7591 `token_endpoint_auth_method`. Both `client_secret_*` values mean a confidential client
 * that may send its secret either way; `none` is a public client, which has no secret.
 */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** The values of {@link TokenEndpointAuthMethod}, in the order the API documents them. */
export const TOKEN_ENDPOINT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none']

/** Whether the client is public (registered without a secret). */
export function isPublicClient (client: Pick<Client, 'token_endpoint_auth_method'>): boolean {
  return client.token_endpoint_auth_method === 'none'
}

/** The fields of an API client that a caller sets (reference §7). */
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

/** A client as the API shows it, without its secret (lists). */
export interface PublicClient {
  id: string
  organization_id: string
  name: string
  redirect_uris: string[]
  origins: string[]
  explicit_authorization_required: boolean
  jwt_grant_enabled: boolean
  admin_node_token_retrieval_enabled: boolean
  public_key: string | null
  whitelist_enabled: boolean
  token_endpoint_auth_method: TokenEndpointAuthMethod
  creator_id: string | null
  created_at: Date
  updated_at: Date
}

/** A client with its secret (null for a public client): answered on create and on GET by id, as AoC does. */
export type ClientWithSecret = PublicClient & { secret: string | null }

const PUBLIC_COLUMNS = ['id', 'organization_id', 'name', 'redirect_uris', 'origins', 'explicit_authorization_required',
  'jwt_grant_enabled', 'admin_node_token_retrieval_enabled', 'public_key', 'whitelist_enabled',
  'token_endpoint_auth_method', 'creator_id', 'created_at', 'updated_at'] as const

/** Binds a client's ciphertext to its id, so a secret copied onto another row does not decrypt. */
const boxContext = (clientId: string) => `clients.secret:${clientId}`

const WRITABLE = ['name', 'redirect_uris', 'origins', 'explicit_authorization_required', 'jwt_grant_enabled',
  'admin_node_token_retrieval_enabled', 'public_key', 'whitelist_enabled'] as const

/** Only the writable fields, checked; a stray key (secret_hash, organization_id...) never reaches SQL. */
function checkedFields (fields: ClientFields) {
  const out: Record<string, unknown> = {}
  for (const k of WRITABLE) if (fields[k] !== undefined) out[k] = fields[k]
  if (fields.redirect_uris) out.redirect_uris = JSON.stringify(fields.redirect_uris.map((u, i) => checkRedirectUri(u, `redirect_uris.${i}`)))
  if (fields.origins) out.origins = JSON.stringify(fields.origins.map((o, i) => checkOrigin(o, `origins.${i}`)))
  if (fields.public_key !== undefined) out.public_key = checkedPublicKey(fields.public_key)
  return out
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
    const row = await db.insertInto('clients').values({
      redirect_uris: '[]',
      origins: '[]',
      ...values,
      id,
      name: fields.name,
      organization_id: orgId,
      token_endpoint_auth_method: method,
      secret_encrypted: secret === null ? null : box.encrypt(secret, boxContext(id)),
      secret_hash: secret === null ? null : box.hash(secret),
      creator_id: creatorId
    } as never).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow()
    return { ...row, secret }
  } catch (err) { return conflictOnName(err) }
}

/** A page of the org's clients (`q`: substring of the name), never with secrets. */
export async function listClients (db: Db, orgId: string, query: ListQuery): Promise<Listed<PublicClient>> {
  let base = db.selectFrom('clients').where('organization_id', '=', orgId)
  if (query.q) base = base.where('name', 'ilike', containsPattern(query.q))
  return await listPage(base, (qb) => qb.select(PUBLIC_COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, query.q, ['name']).orderBy('created_at').orderBy('id'))
}

/** The stored row, secret columns included; for the OAuth endpoints. */
export async function findClientRow (db: Db, orgId: string, id: string): Promise<Client | undefined> {
  return await db.selectFrom('clients').selectAll().where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** One client with its decrypted secret, as AoC lets an admin display it again. */
export async function getClient (db: Db, box: SecretBox, orgId: string, id: string): Promise<ClientWithSecret> {
  const row = await findClientRow(db, orgId, id)
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
    let query = db.updateTable('clients').set({ ...values, updated_at: sql<Date>`now()` } as never)
      .where('organization_id', '=', orgId).where('id', '=', id)
    // In the same statement, so a refused method changes no other field either.
    if (method !== undefined) query = query.where('token_endpoint_auth_method', '=', method)
    const res = await query.executeTakeFirst()
    if (res.numUpdatedRows > 0n) return
    if (method !== undefined && await findClientRow(db, orgId, id)) {
      throw new InvalidParameterError('token_endpoint_auth_method', 'token_endpoint_auth_method is fixed at creation; register a new client to change it')
    }
    throw new NotFoundError('client')
  } catch (err) { conflictOnName(err) }
}

/** Deletes the client; its authorizations go with it (foreign key cascade, one statement). */
export async function deleteClient (db: Db, orgId: string, id: string): Promise<void> {
  const res = await db.deleteFrom('clients').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  if (res.numDeletedRows === 0n) throw new NotFoundError('client')
}

/** Replaces the secret; the old one stops working at once. Returns the new one. A public client has none: 409. */
export async function rotateClientSecret (db: Db, box: SecretBox, orgId: string, id: string): Promise<string> {
  const secret = newClientSecret()
  const res = await db.updateTable('clients')
    .set({ secret_encrypted: box.encrypt(secret, boxContext(id)), secret_hash: box.hash(secret), updated_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId).where('id', '=', id).where('token_endpoint_auth_method', '<>', 'none').executeTakeFirst()
  if (res.numUpdatedRows > 0n) return secret
  if (await findClientRow(db, orgId, id)) throw new ConflictError('a public client has no secret')
  throw new NotFoundError('client')
}

/** Constant-time check of a presented secret against the stored keyed hash. */
export function clientSecretMatches (box: SecretBox, client: Pick<Client, 'secret_hash'>, presented: string): boolean {
  // A public client has no secret, so none can match.
  return client.secret_hash !== null && box.verify(presented, client.secret_hash)
}

/** Whether any client of the org lists this browser origin (a CORS preflight names no client yet). */
export async function anyClientAllowsOrigin (db: Db, orgId: string, origin: string): Promise<boolean> {
  const row = await db.selectFrom('clients').select('id')
    .where('organization_id', '=', orgId)
    .where(sql<boolean>`origins @> ${JSON.stringify([origin])}::jsonb`)
    .limit(1).executeTakeFirst()
  return row !== undefined
}
