// Users: validation of their fields and the rules on one user's row. Rules that reach other
// tables (sessions, tokens, authorizations) are services/users.ts's.
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, NotFoundError } from '../errors.js'
import { checkedPublicKey } from '../keys/public-key.js'
import type { Db } from '../store/db.js'
import type { ListQuery, Listed } from '../store/paging.js'
import * as store from '../store/users.js'

export type { PublicUser } from '../store/users.js'
type PublicUser = store.PublicUser

/** The fields of a user that a caller may set (docs/aoc-compatibility.md §7). */
export interface UserFields {
  email?: string
  name?: string
  first_name?: string
  last_name?: string
  organization_admin?: boolean
  deactivated?: boolean
  public_key?: string | null
}

/** A unique violation on insert or update is the e-mail (unique per organization, without case). */
export function conflictOnEmail (err: unknown): never {
  if (isUniqueViolation(err)) throw new ConflictError('a user with this email already exists in the organization', 'email')
  throw err
}

export async function createUser (db: Db, orgId: string, fields: UserFields & { email: string }, passwordHash: string | null = null): Promise<PublicUser> {
  const publicKey = checkedPublicKey(fields.public_key) ?? null
  const name = fields.name ?? [fields.first_name, fields.last_name].filter(Boolean).join(' ')
  try {
    return await store.insertUser(db, orgId, {
      email: fields.email,
      name,
      first_name: fields.first_name ?? '',
      last_name: fields.last_name ?? '',
      organization_admin: fields.organization_admin ?? false,
      deactivated: fields.deactivated ?? false,
      public_key: publicKey,
      password_hash: passwordHash
    })
  } catch (err) { return conflictOnEmail(err) }
}

export async function findUser (db: Db, orgId: string, id: string): Promise<PublicUser | undefined> {
  return await store.findUser(db, orgId, id)
}

export async function getUser (db: Db, orgId: string, id: string): Promise<PublicUser> {
  const user = await store.findUser(db, orgId, id)
  if (!user) throw new NotFoundError('user')
  return user
}

/** By e-mail, without case (docs/aoc-compatibility.md §8). */
export async function findUserByEmail (db: Db, orgId: string, email: string): Promise<PublicUser | undefined> {
  return await store.findUserByEmail(db, orgId, email)
}

export async function listUsers (db: Db, orgId: string, query: ListQuery): Promise<Listed<PublicUser>> {
  return await store.listUsers(db, orgId, query)
}

/** The user's password hash, null when it has none; 404 for a user not in the organization. */
export async function getPasswordHash (db: Db, orgId: string, id: string): Promise<string | null> {
  const row = await store.findPasswordHash(db, orgId, id)
  if (!row) throw new NotFoundError('user')
  return row.password_hash
}

/** The row changes for `fields` (a public key checked) and an optional new password hash. */
export function userChanges (fields: UserFields, passwordHash?: string | null): store.UserRowChanges {
  const { public_key: pk, ...rest } = fields
  const publicKey = checkedPublicKey(pk)
  return {
    ...rest,
    ...(publicKey !== undefined ? { public_key: publicKey } : {}),
    ...(passwordHash !== undefined ? { password_hash: passwordHash } : {})
  }
}

/** Applies changes to the user's row; 404 when there is none, 409 for a taken e-mail. */
export async function applyUserChanges (db: Db, orgId: string, id: string, changes: store.UserRowChanges, cutOff = false): Promise<void> {
  try {
    if (!await store.updateUserRow(db, orgId, id, changes, cutOff)) throw new NotFoundError('user')
  } catch (err) { conflictOnEmail(err) }
}

/** The field by which `fields` would take the user out of the active administrators, if it is one. */
export function adminRemovingField (fields: UserFields): 'organization_admin' | 'deactivated' | undefined {
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
export async function keepAnActiveAdmin (db: Db, orgId: string, userId: string, param?: string): Promise<void> {
  const admins = await store.lockActiveAdmins(db, orgId)
  if (admins.length === 1 && admins[0] === userId) {
    throw new ConflictError('the organization must keep an active administrator: make another user one first', param)
  }
}

/** Whether the user is active, its row locked till the transaction ends (see store/users.ts). */
export async function lockIfActive (db: Db, orgId: string, id: string): Promise<boolean> {
  return await store.lockIfActive(db, orgId, id)
}

/** Deletes the user's row; 404 when there is none. */
export async function deleteUserRow (db: Db, orgId: string, id: string): Promise<void> {
  if (!await store.deleteUserRow(db, orgId, id)) throw new NotFoundError('user')
}
