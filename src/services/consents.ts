// Consents given and withdrawn, with their audit events. Withdrawing one also ends the codes not yet
// exchanged and the refresh-token families, in the same transaction.
import { NotFoundError } from '../errors.js'
import { revokeFamiliesOf } from '../oauth/refresh-tokens.js'
import type { AuditSource } from '../registry/audit-events.js'
import { rememberConsent } from '../registry/consents.js'
import { deletePendingCodesOf } from '../store/authorization-codes.js'
import { deleteConsentRow } from '../store/consents.js'
import type { Db } from '../store/db.js'
import { audited } from './audit.js'

/**
 * Remembers that the user allowed the client these scopes: `explicit` on the consent page, or
 * assumed for a client that asks for none (recorded too, so that the user can withdraw it).
 */
export async function giveConsent (db: Db, src: AuditSource, userId: string, client: { id: string, name: string }, scopes: readonly string[], explicit: boolean): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    await rememberConsent(trx, src.organizationId!, userId, client.id, scopes)
    await audit({
      eventType: 'consent.given',
      target: { type: 'client', id: client.id, name: client.name },
      changes: [{ field: 'scopes', new_value: [...scopes] }],
      reason: explicit ? 'allowed on the consent page' : 'assumed: the client asks for no consent'
    })
  })
}

/**
 * Withdraws a consent: the client must ask again, and the refresh tokens the user gave it stop
 * working, with the access tokens they issued.
 */
export async function withdrawConsent (db: Db, src: AuditSource, userId: string, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const row = await deleteConsentRow(trx, src.organizationId!, userId, id)
    if (!row) throw new NotFoundError('consent')
    // A code issued just before would otherwise still buy tokens for its remaining seconds.
    await deletePendingCodesOf(trx, userId, row.client_id)
    await revokeFamiliesOf(trx, userId, row.client_id)
    await audit({ eventType: 'consent.withdrawn', target: { type: 'client', id: row.client_id } })
  })
}
