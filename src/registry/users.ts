import { sql, type Kysely } from 'kysely'
import type { Database, User } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import { newId } from '../ids.js'
import { normalisePem, parsePublicKeyPem, PublicKeyError } from '../keys/public-key.js'
import { revokeRefreshTokensOfUser } from '../oauth/refresh-tokens.js'
import { containsPattern, listPage, pageOf, type ListQuery, type Listed } from './paging.js'

type Db = Kysely<Database>

/** The fields of a user that a caller may set (reference §7). */
export interface UserFields {
  email?: string
  name?: string
  first_name?: string
  last_name?: string
  organization_admin?: boolean
  deactivated?: boolean
  public_key?: string | null
}

/** A user as the API shows it: never the password hash. */
export type PublicUser = Omit<User, 'password_hash'>

const PUBLIC_COLUMNS = ['id', 'organization_id', 'email', 'name', 'first_name', 'last_name', 'organization_admin', 'deactivated', 'public_key', 'created_at', 'updated_at'] as const

/** An empty string clears the key; anything else must be a usable public key. */
export function checkedPublicKey (value: string | null | undefined, param = 'public_key'): string | null | undefined {
  if (value === undefined) return undefined
  if (value === null || value.trim() === '') return null
  try {
    parsePublicKeyPem(value)
  } catch (err) {
    if (err instanceof PublicKeyError) throw new InvalidParameterError(param, `${param} ${err.message}`)
    throw err
  }
  return normalisePem(value)
}

function conflictOnEmail (err: unknown): never {
  if (isUniqueViolation(err)) throw new ConflictError('a user with this email already exists in the organization', 'email')
  throw err
}

export async function createUser (db: Db, orgId: string, fields: UserFields & { email: string }, passwordHash: string | null = null): Promise<PublicUser> {
  const publicKey = checkedPublicKey(fields.public_key) ?? null
  const name = fields.name ?? [fields.first_name, fields.last_name].filter(Boolean).join(' ')
  try {
    return await db.insertInto('users').values({
      id: newId(),
      organization_id: orgId,
      email: fields.email,
      name,
      first_name: fields.first_name ?? '',
      last_name: fields.last_name ?? '',
      organization_admin: fields.organization_admin ?? false,
      deactivated: fields.deactivated ?? false,
      public_key: publicKey,
      password_hash: passwordHash
    }).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow()
  } catch (err) { return conflictOnEmail(err) }
}

export async function findUser (db: Db, orgId: string, id: string): Promise<PublicUser | undefined> {
  return await db.selectFrom('users').select(PUBLIC_COLUMNS)
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

export async function getUser (db: Db, orgId: string, id: string): Promise<PublicUser> {
  const user = await findUser(db, orgId, id)
  if (!user) throw new NotFoundError('user')
  return user
}

/** By e-mail, without case (reference §8). */
export async function findUserByEmail (db: Db, orgId: string, email: string): Promise<PublicUser | undefined> {
  return await db.selectFrom('users').select(PUBLIC_COLUMNS)
    .where('organization_id', '=', orgId).where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()
}

export async function listUsers (db: Db, orgId: string, query: ListQuery): Promise<Listed<PublicUser>> {
  let base = db.selectFrom('users').where('organization_id', '=', orgId)
  if (query.q) {
    const pattern = containsPattern(query.q)
    base = base.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('email', 'ilike', pattern)]))
  }
  return await listPage(base, (qb) => qb.select(PUBLIC_COLUMNS), pageOf(query), (qb) => qb.orderBy('created_at').orderBy('id'))
}

/**
 * Changes the given fields. With `passwordHash` (a hash sets the password, null removes it) the
 * user's browser sessions end in the same transaction, and its refresh tokens are revoked with the
 * access tokens they issued, so nothing obtained with the old password, perhaps by whoever learnt
 * it, outlives the change.
 */
export async function updateUser (db: Db, orgId: string, id: string, fields: UserFields, passwordHash?: string | null): Promise<void> {
  const { public_key: pk, ...rest } = fields
  const publicKey = checkedPublicKey(pk)
  const set = {
    ...rest,
    ...(publicKey !== undefined ? { public_key: publicKey } : {}),
    ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
    updated_at: sql<Date>`now()`
  }
  const update = async (q: Db) => {
    const res = await q.updateTable('users').set(set)
      .where('organization_id', '=', orgId).where('id', '=', id)
      .executeTakeFirst()
    if (res.numUpdatedRows === 0n) throw new NotFoundError('user')
  }
  try {
    if (passwordHash === undefined) return await update(db)
    await db.transaction().execute(async (trx) => {
      await update(trx)
      await endBrowserSessions(trx, orgId, id)
      await revokeRefreshTokensOfUser(trx, id)
    })
  } catch (err) { conflictOnEmail(err) }
}

/** Sets (a hash) or removes (null) the user's password; ends its browser sessions and revokes its refresh tokens. */
export async function setUserPassword (db: Db, orgId: string, id: string, passwordHash: string | null): Promise<void> {
  await updateUser(db, orgId, id, {}, passwordHash)
}

/** The user's password hash, null when it has none; 404 for a user not in the organization. */
export async function getPasswordHash (db: Db, orgId: string, id: string): Promise<string | null> {
  const row = await db.selectFrom('users').select('password_hash')
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  if (!row) throw new NotFoundError('user')
  return row.password_hash
}

async function endBrowserSessions (db: Db, orgId: string, userId: string): Promise<void> {
  await db.deleteFrom('browser_sessions').where('organization_id', '=', orgId).where('user_id', '=', userId).execute()
}

/** Removes the user with its memberships and its client authorizations, in one transaction. */
export async function deleteUser (db: Db, orgId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const res = await trx.deleteFrom('users').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    if (res.numDeletedRows === 0n) throw new NotFoundError('user')
    await trx.deleteFrom('client_authorizations')
      .where('organization_id', '=', orgId).where('entity_type', '=', 'user').where('entity_id', '=', id).execute()
  })
}
