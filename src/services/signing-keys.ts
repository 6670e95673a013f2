// A signing key rotation, with its audit event: an event of the whole server, which no
// organization's list shows, but whose log line an operator's shipper gets.
import { rotateSigningKeyIn, type SigningAlg } from '../keys/signing-keys.js'
import type { SecretBox } from '../keys/secret-box.js'
import type { AuditSource } from '../registry/audit-events.js'
import type { Db } from '../store/db.js'
import { audited } from './audit.js'

export async function rotateSigningKey (
  db: Db, box: SecretBox, src: AuditSource, alg: SigningAlg, publishDelay: number, maxTokenTtl: number
): Promise<{ kid: string, activatesAt: Date }> {
  return await audited(db, src, async (trx, audit) => {
    const rotated = await rotateSigningKeyIn(trx, box, alg, publishDelay, maxTokenTtl)
    await audit({
      eventType: 'signing_key.rotated',
      target: { type: 'signing_key', id: rotated.kid, name: alg },
      changes: [{ field: 'activates_at', new_value: rotated.activatesAt.toISOString() }]
    })
    return rotated
  })
}
