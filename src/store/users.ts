// Owner of the `users` table.
import { sql, type SqlBool } from 'kysely'
import type { User } from '../db/schema.js'
import { newId } from '../ids.js'
import { clientConsentFlagOf } from './clients.js'
import { subquery, type Db } from './db.js'
import { organizationNameOf } from './organizations.js'
import { containsPattern, exactMatchesFirst, likeLiteral, listPage, pageOf, type ListQuery, type Listed } from './paging.js'
import { revokedTokenRow } from './revoked-tokens.js'

/** A user as the API shows it: never the password hash, nor the token cut-off (internal). */
export type PublicUser = Omit<User, 'password_hash' | 'tokens_valid_after'>

const PUBLIC_COLUMNS = ['id', 'organization_id', 'email', 'name', 'first_name', 'last_name', 'organization_admin', 'deactivated', 'public_key', 'created_at', 'updated_at'] as const

/** The columns a new user is made of; the id is made here. */
export interface NewUserRow {
  email: string
  name: string
  first_name: string
  last_name: string
  organization_admin: boolean
  deactivated: boolean
  public_key: string | null
  password_hash: string | null
}

/** Inserts a user; a taken e-mail fails with the unique violation (the caller maps it). */
export async function insertUser (db: Db, orgId: string, row: NewUserRow): Promise<PublicUser> {
  return await db.insertInto('users').values({ id: newId(), organization_id: orgId, ...row }).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow()
}

export async function findUser (db: Db, orgId: string, id: string): Promise<PublicUser | undefined> {
  return await db.selectFrom('users').select(PUBLIC_COLUMNS)
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** By e-mail, without case (docs/aoc-compatibility.md §8). */
export async function findUserByEmail (db: Db, orgId: string, email: string): Promise<PublicUser | undefined> {
  return await db.selectFrom('users').select(PUBLIC_COLUMNS)
    .where('organization_id', '=', orgId).where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()
}

/** A page of the org's users; `q` is a substring of the name or the e-mail, exact matches first. */
export async function listUsers (db: Db, orgId: string, query: ListQuery): Promise<Listed<PublicUser>> {
  let base = db.selectFrom('users').where('organization_id', '=', orgId)
  const q = query.q
  if (q) {
    const pattern = containsPattern(q)
    const at = q.indexOf('@')
    if (at >= 0 && at === q.lastIndexOf('@')) {
      // A term with one '@' (an e-mail or a part of one). A stored e-mail has exactly one '@' (the
      // API's format check), so it contains "L@D" exactly when its local part ends with L and its
      // domain starts with D. Said so, the search uses the local part's trigram index (0008); as
      // email ILIKE '%L@D%' it read the domain's trigrams, which every row shares: 300 ms at a million.
      const local = '%' + likeLiteral(q.slice(0, at))
      const domain = likeLiteral(q.slice(at + 1)) + '%'
      base = base.where((eb) => eb.or([
        eb('name', 'ilike', pattern),
        eb.and([eb(sql`split_part(email, '@', 1)`, 'ilike', local), eb(sql`split_part(email, '@', 2)`, 'ilike', domain)])
      ]))
    } else {
      base = base.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('email', 'ilike', pattern)]))
    }
  }
  return await listPage(db, base, (qb) => qb.select(PUBLIC_COLUMNS), pageOf(query), (qb) => exactMatchesFirst(qb, q, ['name', 'email']).orderBy('created_at').orderBy('id'))
}

/** The columns an update may set. */
export interface UserRowChanges {
  email?: string
  name?: string
  first_name?: string
  last_name?: string
  organization_admin?: boolean
  deactivated?: boolean
  public_key?: string | null
  password_hash?: string | null
}

/** Updates the user; `cutOff` also sets its token cut-off to now. False when there is no such user. */
export async function updateUserRow (db: Db, orgId: string, id: string, changes: UserRowChanges, cutOff = false): Promise<boolean> {
  const set = { ...changes, updated_at: sql<Date>`now()`, ...(cutOff ? { tokens_valid_after: sql<Date>`now()` } : {}) }
  const res = await db.updateTable('users').set(set).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numUpdatedRows > 0n
}

/** Deletes the user; false when there is no such user. */
export async function deleteUserRow (db: Db, orgId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('users').where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
  return res.numDeletedRows > 0n
}

/** The user's password hash (null: none); undefined for a user not in the organization. */
export async function findPasswordHash (db: Db, orgId: string, id: string): Promise<{ password_hash: string | null } | undefined> {
  return await db.selectFrom('users').select('password_hash')
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/**
 * Whether the user is active, locking its row till the transaction ends: of two concurrent
 * deactivations only the first sees it active.
 */
export async function lockIfActive (db: Db, orgId: string, id: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('deactivated')
    .where('organization_id', '=', orgId).where('id', '=', id).forUpdate().executeTakeFirst()
  return row?.deactivated === false
}

/** The ids of the org's active administrators, their rows locked in id order till the transaction ends. */
export async function lockActiveAdmins (db: Db, orgId: string): Promise<string[]> {
  const rows = await db.selectFrom('users').select('id')
    .where('organization_id', '=', orgId).where('organization_admin', '=', true).where('deactivated', '=', false)
    .orderBy('id').forUpdate().execute()
  return rows.map((r) => r.id)
}

/** Whether the org has this user; with `lock`, its row is locked FOR SHARE till the transaction ends. */
export async function userExists (db: Db, orgId: string, id: string, lock = false): Promise<boolean> {
  let query = db.selectFrom('users').select('id').where('organization_id', '=', orgId).where('id', '=', id)
  if (lock) query = query.forShare()
  return (await query.executeTakeFirst()) !== undefined
}

/** The user columns the token endpoint needs. */
export interface GrantUser {
  id: string
  email: string
  organization_admin: boolean
  deactivated: boolean
  public_key: string | null
}

/** The JWT-bearer grant's subject: by e-mail without case, or by id; an id match wins. */
export async function findGrantUser (db: Db, orgId: string, sub: string): Promise<GrantUser | undefined> {
  return await db.selectFrom('users')
    .select(['id', 'email', 'organization_admin', 'deactivated', 'public_key'])
    .where('organization_id', '=', orgId)
    .where((eb) => eb.or([eb(sql`lower(email)`, '=', sub.toLowerCase()), eb('id', '=', sub)]))
    .orderBy(sql`(id = ${sub})`, 'desc')
    .executeTakeFirst()
}

/** What the browser-flow grants' decision needs of the signed-in user. */
export async function findDecisionUser (db: Db, orgId: string, id: string): Promise<Pick<User, 'id' | 'email' | 'organization_admin' | 'deactivated'> | undefined> {
  return await db.selectFrom('users').select(['id', 'email', 'organization_admin', 'deactivated'])
    .where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst()
}

/** What the sign-in page needs: by e-mail, without case. */
export async function findSignInUser (db: Db, orgId: string, email: string): Promise<Pick<User, 'id' | 'password_hash' | 'deactivated'> | undefined> {
  return await db.selectFrom('users').select(['id', 'password_hash', 'deactivated'])
    .where('organization_id', '=', orgId).where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()
}

/** Subquery: the active users, for another owner's FROM (a browser session's check); PostgreSQL folds it into a join. */
export function activeUsers () {
  return subquery.selectFrom('users').select(['id', 'email', 'organization_admin']).where('deactivated', '=', false)
}

/** What the REST API checks of a bearer token on every request, in one statement. */
export interface TokenHolder {
  id: string
  email: string
  organization_admin: boolean
  deactivated: boolean
  tokens_valid_after: Date | null
  org_id: string
  /** null when the organization is gone */
  org_name: string | null
  /** the client's `explicit_authorization_required`; null when the client is gone */
  client_asks_consent: boolean | null
  /** truthy when the token was revoked */
  revoked: SqlBool
}

/**
 * The token's user with its organization's name, whether its client still exists (and asks for
 * consent), and whether the token was revoked: the REST API's one query per request.
 */
export async function findTokenHolder (db: Db, t: { orgId: string, userId: string, clientId: string, jti: string }): Promise<TokenHolder | undefined> {
  return await db.selectFrom('users as u')
    .select((eb) => [
      'u.id', 'u.email', 'u.organization_admin', 'u.deactivated', 'u.tokens_valid_after', 'u.organization_id as org_id',
      organizationNameOf(eb.ref('u.organization_id')).as('org_name'),
      clientConsentFlagOf(eb.ref('u.organization_id'), t.clientId).as('client_asks_consent'),
      eb.exists(revokedTokenRow(t.jti)).as('revoked')
    ])
    .where('u.id', '=', t.userId).where('u.organization_id', '=', t.orgId)
    .executeTakeFirst()
}
