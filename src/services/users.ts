// Rules on a user that reach other tables, each in one transaction with its audit events: a password
// change or a deactivation ends sessions and tokens; a deletion removes the user's client authorizations.
import { revokeRefreshTokensOfUser } from '../oauth/refresh-tokens.js'
import { changesOf, type AuditSource } from '../registry/audit-events.js'
import * as users from '../registry/users.js'
import { expirePendingCodesOfUser } from '../store/authorization-codes.js'
import { deleteSessionsOfUser } from '../store/browser-sessions.js'
import { deleteAuthorizationsOfEntity } from '../store/client-authorizations.js'
import type { Db } from '../store/db.js'
import { audited, type Audit } from './audit.js'

const targetOf = (u: { id: string, email: string }) => ({ type: 'user', id: u.id, name: u.email })

/** The profile fields that a `user.updated` event lists; the others have events of their own. */
const PROFILE_FIELDS = ['email', 'name', 'first_name', 'last_name'] as const

export async function createUser (db: Db, src: AuditSource, fields: users.UserFields & { email: string }, passwordHash: string | null = null): Promise<users.PublicUser> {
  return await audited(db, src, async (trx, audit) => {
    const created = await users.createUser(trx, src.organizationId!, fields, passwordHash)
    const shown = { ...created, ...(passwordHash !== null ? { password: true } : {}) } as unknown as Record<string, unknown>
    await audit({ eventType: 'user.created', target: targetOf(created), changes: changesOf(undefined, shown, [...PROFILE_FIELDS, 'organization_admin', 'deactivated', 'public_key', 'password']) })
    return created
  })
}

/** The events of one update: admin flag, deactivation, key and password each their own; the profile fields together. */
async function auditUpdate (audit: Audit, before: users.PublicUser, after: users.PublicUser, fields: users.UserFields, passwordSet: boolean): Promise<void> {
  const target = targetOf(after)
  const b = before as unknown as Record<string, unknown>
  const a = after as unknown as Record<string, unknown>
  const profile = changesOf(b, a, PROFILE_FIELDS.filter((f) => f in fields))
  if (profile.length > 0) await audit({ eventType: 'user.updated', target, changes: profile })
  if (before.organization_admin !== after.organization_admin) {
    await audit({ eventType: after.organization_admin ? 'user.admin_granted' : 'user.admin_revoked', target, changes: changesOf(b, a, ['organization_admin']) })
  }
  if (before.deactivated !== after.deactivated) {
    await audit({ eventType: after.deactivated ? 'user.deactivated' : 'user.reactivated', target, changes: changesOf(b, a, ['deactivated']) })
  }
  if ('public_key' in fields && before.public_key !== after.public_key) {
    await audit({ eventType: 'user.public_key_changed', target, changes: changesOf(b, a, ['public_key']) })
  }
  if (passwordSet) await audit({ eventType: 'user.password_changed', target, changes: [{ field: 'password' }] })
}

/**
 * Changes the given fields. With `passwordHash` (a hash sets the password, null removes it) the
 * user's browser sessions end in the same transaction, and its refresh tokens are revoked with the
 * access tokens they issued, so nothing obtained with the old password, perhaps by whoever learnt
 * it, outlives the change. A deactivation (an active user set `deactivated`) does the same, also
 * ends the codes not exchanged yet and sets the user's token cut-off: the access tokens no refresh
 * token issued are JWTs nothing lists, and only the cut-off keeps a reactivation from reviving them.
 * Demoting, deactivating or deleting the last active administrator is a 409.
 */
export async function updateUser (db: Db, src: AuditSource, id: string, fields: users.UserFields, passwordHash?: string | null): Promise<void> {
  const orgId = src.organizationId!
  const changes = users.userChanges(fields, passwordHash)
  const removing = users.adminRemovingField(fields)
  await audited(db, src, async (trx, audit) => {
    if (removing) await users.keepAnActiveAdmin(trx, orgId, id, removing)
    // Locks the row, so that of two concurrent deactivations only the first sees it active.
    const active = await users.lockIfActive(trx, orgId, id)
    const before = await users.getUser(trx, orgId, id)
    const deactivating = fields.deactivated === true && active
    await users.applyUserChanges(trx, orgId, id, changes, deactivating)
    if (passwordHash !== undefined || deactivating) {
      await deleteSessionsOfUser(trx, orgId, id)
      await revokeRefreshTokensOfUser(trx, id)
    }
    if (deactivating) await expirePendingCodesOfUser(trx, id)
    await auditUpdate(audit, before, await users.getUser(trx, orgId, id), fields, passwordHash !== undefined)
  })
}

/** Sets (a hash) or removes (null) the user's password; ends its browser sessions and revokes its refresh tokens. */
export async function setUserPassword (db: Db, src: AuditSource, id: string, passwordHash: string | null): Promise<void> {
  await updateUser(db, src, id, {}, passwordHash)
}

/** Removes the user with its client authorizations (memberships go by foreign key), in one transaction. */
export async function deleteUser (db: Db, src: AuditSource, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const orgId = src.organizationId!
    await users.keepAnActiveAdmin(trx, orgId, id)
    const before = await users.getUser(trx, orgId, id)
    await users.deleteUserRow(trx, orgId, id)
    await deleteAuthorizationsOfEntity(trx, orgId, 'user', id)
    await audit({ eventType: 'user.deleted', target: targetOf(before) })
  })
}
