// Owner of the `audit_events` table: the audit trail (docs/audit-events.md).
import { sql } from 'kysely'
import type { AuditChange, AuditEvent, AuditEventsTable } from '../db/schema.js'
import { newId } from '../ids.js'
import { deleteBatch, type Db } from './db.js'

/** An event to record; the id and time are made here. */
export type NewAuditEventRow = Omit<AuditEventsTable, 'id' | 'created_at' | 'changes' | 'count' | 'count_key' | 'minute'> & { changes: AuditChange[] }

/** Inserts one event and answers it as stored. */
export async function insertAuditEvent (db: Db, row: NewAuditEventRow): Promise<AuditEvent> {
  return await db.insertInto('audit_events').values({ ...row, id: newId(), changes: JSON.stringify(row.changes) })
    .returningAll().executeTakeFirstOrThrow()
}

/**
 * Counts an event in its minute: the first of a minute with this organization and `countKey` is
 * inserted, the next ones add one to its count, in one statement. Answers the row.
 */
export async function countAuditEvent (db: Db, row: NewAuditEventRow & { organization_id: string }, countKey: string): Promise<AuditEvent> {
  return await db.insertInto('audit_events')
    .values({ ...row, id: newId(), changes: JSON.stringify(row.changes), count_key: countKey, minute: sql<Date>`date_trunc('minute', now())` })
    .onConflict((oc) => oc.columns(['organization_id', 'count_key', 'minute']).doUpdateSet({ count: sql<number>`audit_events.count + 1` }))
    .returningAll().executeTakeFirstOrThrow()
}

/** Filters of the organization's event list. */
export interface AuditEventFilter {
  eventType?: string
  actorId?: string
  targetId?: string
  /** at or after */
  start?: Date
  /** before */
  stop?: Date
  /** rows older than this one, in the list's order */
  before?: { createdAt: Date, id: string }
  limit: number
}

/** The organization's events, newest first (created_at, then id, both descending). */
export async function listAuditEvents (db: Db, orgId: string, f: AuditEventFilter): Promise<AuditEvent[]> {
  let query = db.selectFrom('audit_events').selectAll().where('organization_id', '=', orgId)
  if (f.eventType !== undefined) query = query.where('event_type', '=', f.eventType)
  if (f.actorId !== undefined) query = query.where('actor_id', '=', f.actorId)
  if (f.targetId !== undefined) query = query.where('target_id', '=', f.targetId)
  if (f.start !== undefined) query = query.where('created_at', '>=', f.start)
  if (f.stop !== undefined) query = query.where('created_at', '<', f.stop)
  if (f.before !== undefined) query = query.where(sql<boolean>`(created_at, id) < (${f.before.createdAt}::timestamptz, ${f.before.id})`)
  return await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute()
}

/** Deletes the events older than `retentionDays`; returns how many. */
export async function purgeAuditEvents (db: Db, retentionDays: number, limit?: number): Promise<number> {
  return await deleteBatch(db, 'audit_events', sql`created_at < now() - make_interval(days => ${retentionDays})`, limit)
}
