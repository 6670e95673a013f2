// Rules on a user that reach other tables, each in one transaction: a password change or a
// deactivation ends sessions and tokens; a deletion removes the user's client authorizations.
import { revokeRefreshTokensOfUser } from '../oauth/refresh-tokens.js'
import * as users from '../registry/users.js'
import { expirePendingCodesOfUser } from '../store/authorization-codes.js'
import { deleteSessionsOfUser } from '../store/browser-sessions.js'
import { deleteAuthorizationsOfEntity } from '../store/client-authorizations.js'
import type { Db } from '../store/db.js'

/**
 * Changes the given fields. With `passwordHash` (a hash sets the password, null removes it) the
 * user's browser sessions end in the same transaction, and its refresh tokens are revoked with the
 * access tokens they issued, so nothing obtained with the old password, perhaps by whoever learnt
 * it, outlives the change. A deactivation (an active user set `deactivated`) does the same, also
 * ends the codes not exchanged yet and sets the user's token cut-off: the access tokens no refresh
 * token issued are JWTs nothing lists, and only the cut-off keeps a reactivation from reviving them.
 * Demoting, deactivating or deleting the last active administrator is a 409.
 */
export async function updateUser (db: Db, orgId: string, id: string, fields: users.UserFields, passwordHash?: string | null): Promise<void> {
  const changes = users.userChanges(fields, passwordHash)
  const removing = users.adminRemovingField(fields)
  // Only a password change, a demotion or a deactivation needs the transaction below.
  if (passwordHash === undefined && !removing) return await users.applyUserChanges(db, orgId, id, changes)
  await db.transaction().execute(async (trx) => {
    if (removing) await users.keepAnActiveAdmin(trx, orgId, id, removing)
    const deactivating = fields.deactivated === true && await users.lockIfActive(trx, orgId, id)
    await users.applyUserChanges(trx, orgId, id, changes, deactivating)
    if (passwordHash !== undefined || deactivating) {
      await deleteSessionsOfUser(trx, orgId, id)
      await revokeRefreshTokensOfUser(trx, id)
    }
    if (deactivating) await expirePendingCodesOfUser(trx, id)
  })
}

/** Sets (a hash) or removes (null) the user's password; ends its browser sessions and revokes its refresh tokens. */
export async function setUserPassword (db: Db, orgId: string, id: string, passwordHash: string | null): Promise<void> {
  await updateUser(db, orgId, id, {}, passwordHash)
}

/** Removes the user with its client authorizations (memberships go by foreign key), in one transaction. */
export async function deleteUser (db: Db, orgId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await users.keepAnActiveAdmin(trx, orgId, id)
    await users.deleteUserRow(trx, orgId, id)
    await deleteAuthorizationsOfEntity(trx, orgId, 'user', id)
  })
}
