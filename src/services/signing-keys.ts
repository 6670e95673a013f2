// Signing key rotations, by hand (the CLI's `keys rotate`) or on a schedule (every instance's
// background job, SIGNING_KEY_ROTATION_INTERVAL), each with its audit event: an event of the whole
// server, which no organization's list shows, but whose log line an operator's shipper gets.
import { rotateSigningKeyIn, type Clock, type SigningAlg } from '../keys/signing-keys.js'
import type { SecretBox } from '../keys/secret-box.js'
import type { AuditSource } from '../registry/audit-events.js'
import type { Db } from '../store/db.js'
import { KEY_ROTATION_LOCK, withAdvisoryLock } from '../store/locks.js'
import { newestSigningKeyActivation } from '../store/signing-keys.js'
import { audited, type Audit } from './audit.js'

/** A rotation and its event, in the caller's transaction. */
async function rotateAndRecord (
  trx: Db, audit: Audit, box: SecretBox, alg: SigningAlg, publishDelay: number, maxTokenTtl: number, now: Date
): Promise<{ kid: string, activatesAt: Date }> {
  const rotated = await rotateSigningKeyIn(trx, box, alg, publishDelay, maxTokenTtl, now)
  await audit({
    eventType: 'signing_key.rotated',
    target: { type: 'signing_key', id: rotated.kid, name: alg },
    changes: [{ field: 'activates_at', new_value: rotated.activatesAt.toISOString() }]
  })
  return rotated
}

/** A rotation now, whatever the schedule says (keys/signing-keys.ts rotateSigningKeyIn). */
export async function rotateSigningKey (
  db: Db, box: SecretBox, src: AuditSource, alg: SigningAlg, publishDelay: number, maxTokenTtl: number, now: Date = new Date()
): Promise<{ kid: string, activatesAt: Date }> {
  return await audited(db, src, async (trx, audit) => await rotateAndRecord(trx, audit, box, alg, publishDelay, maxTokenTtl, now))
}

/** What the scheduled rotation goes by: the configuration's part, and the clock. */
export interface RotationSchedule {
  /** the new key's algorithm (SIGNING_ALG) */
  alg: SigningAlg
  /** seconds from the newest key's activation until its successor is published (SIGNING_KEY_ROTATION_INTERVAL, above 0) */
  interval: number
  /** seconds the new key is published before it signs (KEY_PUBLISH_DELAY) */
  publishDelay: number
  /** the longest access-token lifetime: how long the keys it replaces stay published once they stop signing */
  maxTokenTtl: number
  now: Clock
}

/** What one turn of the scheduled rotation did. */
export type ScheduledRotation =
  /** another instance is taking its turn now */
  | { outcome: 'busy' }
  /** the newest key is younger than the interval (a key published and not yet signing always is); `dueAt` undefined: there is no key at all, which start-up makes */
  | { outcome: 'not_due', dueAt?: Date }
  | { outcome: 'rotated', kid: string, activatesAt: Date }

/**
 * One turn of the scheduled rotation, which every instance takes on its timer: under an advisory
 * lock, so one instance at a time, and in one transaction, it rotates only if the newest key (by
 * activation) began to sign at least `interval` seconds ago. The new key is then the newest and
 * activates in the future, so every later turn, on this instance or another, finds nothing due
 * until `interval` after that activation: however many instances there are, one key per interval.
 */
export async function rotateSigningKeyIfDue (db: Db, box: SecretBox, src: AuditSource, schedule: RotationSchedule): Promise<ScheduledRotation> {
  if (!(schedule.interval > 0)) throw new RangeError('the rotation interval must be above 0 (0 means no scheduled rotation: do not call this)')
  const turn = await withAdvisoryLock(db, KEY_ROTATION_LOCK, async (conn) => await audited(conn, src, async (trx, audit): Promise<ScheduledRotation> => {
    // Read under the lock: a rotation that another instance committed before it let go is seen here.
    const newest = await newestSigningKeyActivation(trx)
    if (newest === undefined) return { outcome: 'not_due' }
    const dueAt = new Date(newest.getTime() + schedule.interval * 1000)
    const now = schedule.now()
    if (now < dueAt) return { outcome: 'not_due', dueAt }
    const rotated = await rotateAndRecord(trx, audit, box, schedule.alg, schedule.publishDelay, schedule.maxTokenTtl, now)
    return { outcome: 'rotated', ...rotated }
  }))
  return turn.ran ? turn.result : { outcome: 'busy' }
}
