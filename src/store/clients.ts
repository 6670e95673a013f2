// Owner of the `clients` table.
import { sql, type Expression } from 'kysely'
import type { Client } from '../db/schema.js'
import { sealedNotUnder as notUnder, subquery, type Db } from './db.js'
import { containsPattern, exactMatchesFirst, listPage, pageOf, type ListQuery, type Listed } from './paging.js'

/**
 * RFC 7591 `token_endpoint_auth_method`. Both `client_secret_*` values mean a confidential client
 * that may send its secret either way; `none` is a public client, which has no secret.
 */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

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

const PUBLIC_COLUMNS = ['id', 'organization_id', 'name', 'redirect_uris', 'origins', 'explicit_authorization_required',
  'jwt_grant_enabled', 'admin_node_token_retrieval_enabled', 'public_key', 'whitelist_enabled',
  'token_endpoint_auth_method', 'creator_id', 'created_at', 'updated_at'] as const

/** The writable columns, checked by the caller; JSON lists as JSON text. */
export interface ClientRowFields {
  name?: string
  redirect_uris?: string
  origins?: string
  explicit_authorization_required?: boolean
  jwt_grant_enabled?: boolean
  admin_node_token_retrieval_enabled?: boolean
  public_key?: string | null
  whitelist_enabled?: boolean
}

/** A new client's row: the caller makes the id and the secret's ciphertext and hash. */
export interface NewClientRow extends ClientRowFields {
  id: string
  name: string
  token_endpoint_auth_method: TokenEndpointAuthMethod
  secret_encrypted: string | null
  secret_hash: string | null
  creator_id: string | null
}

/** Inserts a client; a taken name fails with the unique violation (the caller maps it). */
export async function insertClient (db: Db, orgId: string, row: NewClientRow): Promise<PublicClient> {
  return await db.insertInto('clients').values({ redirect_uris: '[]', origins: '[]', ...row, organization_id: orgId } as never)
    .returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow() as PublicClient
}

/** A page of the org's clients (`q`: substring of the name), never with secrets. */
export async function listClients (db: Db, orgId: string, query: ListQuery): Promise<Listed<PublicClient>> {
  let base = db.selectFrom('clients').where('organization_id', '=', orgId)
  if (query.q) base = base.where('name', 'ilike', containsPattern(query.q))
  return await listPage(db, base, (qb) => qb.select(PUBLIC_COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, query.q, ['name']).orderBy('created_at').orderBy('id')) as Listed<PublicClient>
}

/** The stored row, secret columns included; for the OAuth endpoints. */
export async function findClientRow (db: Db, orgId: string, id: string): Promise<Client | undefined> {
  return await db.selectFrom('clients').selectAll().where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** The org's first client, or the one with this id (the ops CLI's token command). */
export async function findClientIdForCli (db: Db, orgId: string, id?: string): Promise<string | undefined> {
  let query = db.selectFrom('clients').select('id').where('organization_id', '=', orgId)
  query = id ? query.where('id', '=', id) : query.orderBy('created_at').orderBy('id')
  return (await query.executeTakeFirst())?.id
}

/**
 * Updates the client's columns; with `onlyIfMethod`, only when its token_endpoint_auth_method is
 * that one (in the same statement, so a refused method changes nothing). False when no row changed.
 */
export async function updateClientRow (db: Db, orgId: string, id: string, fields: ClientRowFields, onlyIfMethod?: TokenEndpointAuthMethod): Promise<boolean> {
  let query = db.updateTable('clients').set({ ...fields, updated_at: sql<Date>`now()` } as never)
    .where('organization_id', '=', orgId).where('id', '=', id)
  if (onlyIfMethod !== undefined) query = query.where('token_endpoint_auth_method', '=', onlyIfMethod)
  return (await query.executeTakeFirst()).numUpdatedRows > 0n
}

/** Replaces a confidential client's secret; false for a public client or no such client. */
export async function updateClientSecret (db: Db, orgId: string, id: string, secret: { encrypted: string, hash: string }): Promise<boolean> {
  const res = await db.updateTable('clients')
    .set({ secret_encrypted: secret.encrypted, secret_hash: secret.hash, updated_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId).where('id', '=', id).where('token_endpoint_auth_method', '<>', 'none').executeTakeFirst()
  return res.numUpdatedRows > 0n
}

/** Deletes the client; its authorizations, consents and tokens go by foreign key cascade. False when there was none. */
export async function deleteClientRow (db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('clients').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numDeletedRows > 0n
}

/** Whether the org has this client; with `lock`, its row is locked FOR SHARE till the transaction ends. */
export async function clientExists (db: Db, orgId: string, id: string, lock = false): Promise<boolean> {
  let query = db.selectFrom('clients').select('id').where('organization_id', '=', orgId).where('id', '=', id)
  if (lock) query = query.forShare()
  return (await query.executeTakeFirst()) !== undefined
}

/** Whether any client of the org lists this browser origin (a CORS preflight names no client yet). */
export async function anyClientAllowsOrigin (db: Db, orgId: string, origin: string): Promise<boolean> {
  const row = await db.selectFrom('clients').select('id')
    .where('organization_id', '=', orgId)
    .where(sql<boolean>`origins @> ${JSON.stringify([origin])}::jsonb`)
    .limit(1).executeTakeFirst()
  return row !== undefined
}

/** Subquery: the client's `explicit_authorization_required` (null when the org has no such client). */
export function clientConsentFlagOf (orgId: Expression<string>, clientId: string) {
  return subquery.selectFrom('clients').select('explicit_authorization_required').where('organization_id', '=', orgId).where('id', '=', clientId)
}

/** Subquery: the client's name. */
export function clientNameOf (clientId: Expression<string>) {
  return subquery.selectFrom('clients').select('name').where('id', '=', clientId)
}

/** A confidential client's sealed columns, as `keys reencrypt` reads and rewrites them (services/secret-encryption.ts). */
export interface SealedClientSecret {
  id: string
  secret_encrypted: string
  secret_hash: string
}

const SEALED_COLUMNS = ['id', 'secret_encrypted', 'secret_hash'] as const

/**
 * Up to `limit` confidential clients after `afterId`, in id order, whose secret or hash does not
 * begin with `prefix` (the first key's: they were made under another key, or in the format before key ids).
 */
export async function listClientSecretsNotUnder (db: Db, prefix: string, afterId: string, limit: number): Promise<SealedClientSecret[]> {
  return await db.selectFrom('clients').select(SEALED_COLUMNS)
    .where('id', '>', afterId)
    .where((eb) => eb.or([notUnder(eb.ref('secret_encrypted'), prefix), notUnder(eb.ref('secret_hash'), prefix)]))
    .orderBy('id').limit(limit).execute() as SealedClientSecret[]
}

/** These clients' sealed columns as they are now (after a conditional replace missed them); a public or deleted one is left out. */
export async function findClientSecrets (db: Db, ids: readonly string[]): Promise<SealedClientSecret[]> {
  if (ids.length === 0) return []
  return await db.selectFrom('clients').select(SEALED_COLUMNS)
    .where('id', 'in', ids).where('secret_encrypted', 'is not', null).where('secret_hash', 'is not', null)
    .orderBy('id').execute() as SealedClientSecret[]
}

/**
 * Replaces each client's secret and hash with `next`, in one statement, only where both still are
 * what was read (`read`): a secret rotated meanwhile is kept, never overwritten with the old one
 * re-encrypted. `updated_at` stays: the secret is the same. Answers the ids written.
 */
export async function replaceClientSecrets (db: Db, rows: ReadonlyArray<{ read: SealedClientSecret, next: SealedClientSecret }>): Promise<Set<string>> {
  if (rows.length === 0) return new Set()
  const column = (pick: (r: { read: SealedClientSecret, next: SealedClientSecret }) => string) => rows.map(pick)
  const { rows: written } = await sql<{ id: string }>`
    UPDATE clients AS c SET secret_encrypted = v.next_encrypted, secret_hash = v.next_hash
    FROM unnest(${column((r) => r.read.id)}::text[], ${column((r) => r.read.secret_encrypted)}::text[], ${column((r) => r.read.secret_hash)}::text[],
                ${column((r) => r.next.secret_encrypted)}::text[], ${column((r) => r.next.secret_hash)}::text[])
      AS v (id, read_encrypted, read_hash, next_encrypted, next_hash)
    WHERE c.id = v.id AND c.secret_encrypted = v.read_encrypted AND c.secret_hash = v.read_hash
    RETURNING c.id`.execute(db)
  return new Set(written.map((r) => r.id))
}

/** How many confidential clients' secret or hash does not begin with `prefix`. */
export async function countClientSecretsNotUnder (db: Db, prefix: string): Promise<number> {
  const row = await db.selectFrom('clients').select((eb) => eb.fn.countAll<string>().as('n'))
    .where((eb) => eb.or([notUnder(eb.ref('secret_encrypted'), prefix), notUnder(eb.ref('secret_hash'), prefix)]))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
