import { sql, type Kysely } from 'kysely'
import type { Database, User } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import { newId } from '../ids.js'
import { normalisePem, parsePublicKeyPem, PublicKeyError } from '../keys/public-key.js'
import { expirePendingCodesOfUser } from '../oauth/authorization-codes.js'
import { revokeRefreshTokensOfUser } from '../oauth/refresh-tokens.js'
import { containsPattern, exactMatchesFirst, listPage, pageOf, type ListQuery, type Listed } from './paging.js'

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

/** A user as the API shows it: never the password hash, nor the token cut-off (internal). */
export type PublicUser = Omit<User, 'password_hash' | 'tokens_valid_after'>

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
  return await listPage(base, (qb) => qb.select(PUBLIC_COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, query.q, ['name', 'email']).orderBy('created_at').orderBy('id'))
}

/**
 * Changes the given fields. With `passwordHash` (a hash sets the password, null removes it) the
 * user's browser sessions end in the same transaction, and its refresh tokens are revoked with the
 * access tokens they issued, so nothing obtained with the old password, perhaps by whoever learnt
 * it, outlives the change. A deactivation (an active user set `deactivated`) does the same, also
 * ends the codes not exchanged yet and sets the user's token cut-off: the access tokens no refresh
 * token issued are JWTs nothing lists, and only the cut-off keeps a reactivation from reviving them.
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
  const update = async (q: Db, cutOff: boolean) => {
    const res = await q.updateTable('users').set(cutOff ? { ...set, tokens_valid_after: sql<Date>`now()` } : set)
      .where('organization_id', '=', orgId).where('id', '=', id)
      .executeTakeFirst()
    if (res.numUpdatedRows === 0n) throw new NotFoundError('user')
  }
  try {
    const removing = adminRemovingField(fields)
    // Only a password change, a demotion or a deactivation needs the transaction below.
    if (passwordHash === undefined && !removing) return await update(db, false)
    await db.transaction().execute(async (trx) => {
      if (removing) await keepAnActiveAdmin(trx, orgId, id, removing)
      const deactivating = fields.deactivated === true && await lockIfActive(trx, orgId, id)
      await update(trx, deactivating)
      if (passwordHash !== undefined || deactivating) {
        await endBrowserSessions(trx, orgId, id)
        await revokeRefreshTokensOfUser(trx, id)
      }
      if (deactivating) await expirePendingCodesOfUser(trx, id)
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

/**
 * Whether the user is active, locking its row till the transaction ends: of two concurrent
 * deactivations only the first sees it active, so a repeated one leaves the cut-off where it was.
 */
async function lockIfActive (db: Db, orgId: string, id: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('deactivated')
    .where('organization_id', '=', orgId).where('id', '=', id).forUpdate().executeTakeFirst()
  return row?.deactivated === false
}

/** The field by which `fields` would take the user out of the active administrators, if it is one. */
function adminRemovingField (fields: UserFields): 'organization_admin' | 'deactivated' | undefined {
  if (fields.organization_admin === false) return 'organization_admin'
  if (fields.deactivated === true) return 'deactivated'
  return undefined
}

/**
 * Refuses (409, naming `param`) to take away the organization's last active administrator, by a
 * demotion, a deactivation or a deletion: nobody could then manage the organization through the
 * API. It locks the active administrators' rows, in id order, till the transaction ends: of two
 * concurrent removals of the last two, the second waits for the first, then sees only one left.
 */
async function keepAnActiveAdmin (db: Db, orgId: string, userId: string, param?: string): Promise<void> {
  const admins = await db.selectFrom('users').select('id')
    .where('organization_id', '=', orgId).where('organization_admin', '=', true).where('deactivated', '=', false)
    .orderBy('id').forUpdate().execute()
  if (admins.length === 1 && admins[0]!.id === userId) {
    throw new ConflictError('the organization must keep an active administrator: make another user one first', param)
  }
}

async function endBrowserSessions (db: Db, orgId: string, userId: string): Promise<void> {
  await db.deleteFrom('browser_sessions').where('organization_id', '=', orgId).where('user_id', '=', userId).execute()
}

/** Removes the user with its memberships and its client authorizations, in one transaction. */
export async function deleteUser (db: Db, orgId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await keepAnActiveAdmin(trx, orgId, id)
    const res = await trx.deleteFrom('users').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    if (res.numDeletedRows === 0n) throw new NotFoundError('user')
    await trx.deleteFrom('client_authorizations')
      .where('organization_id', '=', orgId).where('entity_type', '=', 'user').where('entity_id', '=', id).execute()
  })
}
