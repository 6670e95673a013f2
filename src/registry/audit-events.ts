// The audit trail's rules: who an event names, what it may hold, its log line, and the list's
// cursor (docs/audit-events.md). The rows are store/audit-events.ts's.
import { createHash } from 'node:crypto'
import type { AuditChange, AuditEvent } from '../db/schema.js'
import { InvalidParameterError } from '../errors.js'
import { auditEvents } from '../metrics.js'
import { countAuditEvent, insertAuditEvent, listAuditEvents, type AuditEventFilter } from '../store/audit-events.js'
import type { Db } from '../store/db.js'

/** Who made a change, and from where. Routes and the CLI build it; services and grants pass it on. */
export interface AuditSource {
  /** null: an event of the whole server (a signing key rotated), which no organization's list shows */
  organizationId: string | null
  actor: { type: 'user' | 'client' | 'cli' | 'system', id?: string | null, email?: string | null }
  requestId?: string
  ip?: string
  userAgent?: string
  /** where each event's log line goes: the request's logger, or the CLI's */
  log: { info: (obj: object, msg: string) => void }
}

/** The parts of an HTTP request that an event records. */
export interface RequestLike {
  id: string
  ip: string
  headers: Record<string, string | string[] | undefined>
  log: AuditSource['log']
}

/** The source of an event made while answering `request`. */
export function requestAuditSource (request: RequestLike, organizationId: string | null, actor: AuditSource['actor']): AuditSource {
  const agent = request.headers['user-agent']
  return {
    organizationId,
    actor,
    requestId: request.id,
    ip: request.ip,
    ...(typeof agent === 'string' ? { userAgent: agent } : {}),
    log: request.log
  }
}

/** What one event records besides its source. */
export interface AuditInput {
  eventType: string
  target?: { type: string, id: string | null, name?: string | null }
  changes?: AuditChange[]
  reason?: string
}

/** An event as the API answers it and the log line carries it: the stored row without its counting keys. */
export type AuditEventView = Omit<AuditEvent, 'count_key' | 'minute'>

export function auditEventView (event: AuditEvent): AuditEventView {
  const { count_key: _key, minute: _minute, ...view } = event
  return view
}

/** Fields whose values never reach an event: only their names do. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['password', 'password_hash', 'secret', 'secret_hash', 'secret_encrypted', 'client_secret', 'private_key'])

/** A public key as an event shows it: its SHA-256 fingerprint (of the PEM text), not the PEM. */
export function keyFingerprint (pem: string | null | undefined): string | null {
  if (!pem) return null
  return 'SHA256:' + createHash('sha256').update(pem).digest('base64url')
}

/**
 * The changed fields between `before` and `after` among `fields`: old and new values, except for a
 * secret (the name alone) and a public key (its fingerprint). Fields left alone are left out.
 */
export function changesOf (before: Record<string, unknown> | undefined, after: Record<string, unknown>, fields: readonly string[]): AuditChange[] {
  const out: AuditChange[] = []
  for (const field of fields) {
    if (!(field in after)) continue
    const oldValue = before?.[field]
    const newValue = after[field]
    if (SECRET_FIELDS.has(field)) {
      out.push({ field })
      continue
    }
    const shown = (v: unknown) => field === 'public_key' ? keyFingerprint(v as string | null) : v ?? null
    if (before && JSON.stringify(shown(oldValue)) === JSON.stringify(shown(newValue))) continue
    out.push(before ? { field, old_value: shown(oldValue), new_value: shown(newValue) } : { field, new_value: shown(newValue) })
  }
  return out
}

function rowOf (src: AuditSource, input: AuditInput) {
  return {
    organization_id: src.organizationId,
    event_type: input.eventType,
    actor_type: src.actor.type,
    actor_id: src.actor.id ?? null,
    actor_email: src.actor.email ?? null,
    target_type: input.target?.type ?? null,
    target_id: input.target?.id ?? null,
    target_name: input.target?.name ?? null,
    request_id: src.requestId ?? null,
    ip_address: src.ip ?? null,
    user_agent: src.userAgent?.slice(0, 512) ?? null,
    changes: (input.changes ?? []).map((c) => SECRET_FIELDS.has(c.field) ? { field: c.field } : c),
    reason: input.reason?.slice(0, 200) ?? null
  }
}

/** Each event is also one log line, `"audit": true`, so that a log shipper gets them without the API. */
export function logAuditEvent (src: AuditSource, event: AuditEvent): void {
  auditEvents.inc({ event_type: event.event_type })
  src.log.info({ audit: true, event: auditEventView(event) }, `audit: ${event.event_type}`)
}

/** Writes one event in the caller's transaction; the caller logs it once the transaction commits. */
export async function writeAuditEvent (db: Db, src: AuditSource, input: AuditInput): Promise<AuditEvent> {
  return await insertAuditEvent(db, rowOf(src, input))
}

/** Records and logs one event outside any transaction (a security event of the OAuth endpoints). */
export async function recordAuditEvent (db: Db, src: AuditSource, input: AuditInput): Promise<void> {
  logAuditEvent(src, await insertAuditEvent(db, rowOf(src, input)))
}

/**
 * Counts an event that a caller can repeat at will (a refused token, a throttled sign-in): one row
 * per minute, organization, event type, target and reason, whose `count` grows. Only the minute's
 * first is logged, so a flood fills neither the table nor the log.
 */
export async function countAuditEventInMinute (db: Db, src: AuditSource, input: AuditInput): Promise<void> {
  const orgId = src.organizationId
  // Counted events are an organization's (a refused token, a throttled sign-in); the server has none.
  if (orgId === null) throw new Error('a counted audit event needs an organization')
  const key = JSON.stringify([input.eventType, input.target?.id ?? null, input.reason ?? null])
  const event = await countAuditEvent(db, { ...rowOf(src, input), organization_id: orgId }, key)
  if (event.count === 1) logAuditEvent(src, event)
  else auditEvents.inc({ event_type: event.event_type })
}

/** A position in the list: the last row of a page, as an opaque string. */
function cursorOf (event: AuditEvent): string {
  return Buffer.from(JSON.stringify([event.created_at.toISOString(), event.id])).toString('base64url')
}

function readCursor (cursor: string): { createdAt: Date, id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    const createdAt = new Date(String(at))
    if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(createdAt.getTime())) throw new Error('bad cursor')
    return { createdAt, id }
  } catch {
    throw new InvalidParameterError('cursor', 'cursor is not one this list answered: pass the next_cursor of the previous page as it came')
  }
}

/** The list's filters as the API takes them. */
export interface AuditEventQuery {
  event_type?: string
  actor_id?: string
  target_id?: string
  start_time?: string
  stop_time?: string
  limit?: number
  cursor?: string
}

function timeOf (value: string | undefined, param: string): Date | undefined {
  if (value === undefined) return undefined
  const t = new Date(value)
  if (Number.isNaN(t.getTime())) throw new InvalidParameterError(param, `${param} must be an ISO 8601 date-time`)
  return t
}

/** A page of the organization's events, newest first, with the cursor of the next page (null at the end). */
export async function listEvents (db: Db, orgId: string, q: AuditEventQuery): Promise<{ events: AuditEventView[], nextCursor: string | null }> {
  const limit = q.limit ?? 100
  const filter: AuditEventFilter = {
    eventType: q.event_type,
    actorId: q.actor_id,
    targetId: q.target_id,
    start: timeOf(q.start_time, 'start_time'),
    stop: timeOf(q.stop_time, 'stop_time'),
    before: q.cursor === undefined ? undefined : readCursor(q.cursor),
    // One more than asked tells whether a next page exists.
    limit: limit + 1
  }
  const rows = await listAuditEvents(db, orgId, filter)
  const page = rows.slice(0, limit)
  return { events: page.map(auditEventView), nextCursor: rows.length > limit ? cursorOf(page[page.length - 1]!) : null }
}
