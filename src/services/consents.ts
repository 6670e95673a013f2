// Withdrawing a consent: the consent, the codes not yet exchanged and the refresh-token families go
// together, in one transaction.
import { NotFoundError } from '../errors.js'
import { revokeFamiliesOf } from '../oauth/refresh-tokens.js'
import { deletePendingCodesOf } from '../store/authorization-codes.js'
import { deleteConsentRow } from '../store/consents.js'
import type { Db } from '../store/db.js'

/**
 * Withdraws a consent: the client must ask again, and the refresh tokens the user gave it stop
 * working, with the access tokens they issued.
 */
export async function withdrawConsent (db: Db, orgId: string, userId: string, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await deleteConsentRow(trx, orgId, userId, id)
    if (!row) throw new NotFoundError('consent')
    // A code issued just before would otherwise still buy tokens for its remaining seconds.
    await deletePendingCodesOf(trx, userId, row.client_id)
    await revokeFamiliesOf(trx, userId, row.client_id)
  })
}
