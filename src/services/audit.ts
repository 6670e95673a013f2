// A change and its audit events in one transaction; the events' log lines once it has committed.
import type { AuditEvent } from '../db/schema.js'
import { logAuditEvent, writeAuditEvent, type AuditInput, type AuditSource } from '../registry/audit-events.js'
import type { Db } from '../store/db.js'

/** Records an event in the transaction that `audited` opened. */
export type Audit = (input: AuditInput) => Promise<void>

/**
 * Runs `change` in one transaction with an `audit` function that writes events in that same
 * transaction: the change and its record commit together or not at all. Each event is logged
 * after the commit, so a change that rolled back leaves no log line either.
 */
export async function audited<T> (db: Db, src: AuditSource, change: (trx: Db, audit: Audit) => Promise<T>): Promise<T> {
  const events: AuditEvent[] = []
  const result = await db.transaction().execute(async (trx) => await change(trx, async (input) => { events.push(await writeAuditEvent(trx, src, input)) }))
  for (const event of events) logAuditEvent(src, event)
  return result
}
