// Token refusals in the audit trail (docs/audit-events.md): the reuse of a code or a refresh token
// is one event each; every other refusal, the replay of an assertion included, is counted per
// minute, client and reason, so that a flood of bad requests fills neither the table nor the log.
import type { FastifyRequest } from 'fastify'
import type { Client, Organization } from '../db/schema.js'
import { countAuditEventInMinute, recordAuditEvent, requestAuditSource, type AuditInput } from '../registry/audit-events.js'
import type { Db } from '../store/db.js'
import type { OAuthError } from './errors.js'

/** A refusal reason with its variable parts (quoted values, numbers) blanked, so that reasons stay few. */
export function reasonCategory (reason: string): string {
  return reason.replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N').slice(0, 120)
}

/** The event a refusal makes, and whether it is counted per minute or recorded alone. */
export function refusalEvent (err: OAuthError): { counted: boolean, eventType: string, reason: string } {
  if (/^code reused/.test(err.reason)) return { counted: false, eventType: 'token.code_reused', reason: err.reason }
  if (err.reason === 'refresh token reused' || err.reason === 'family revoked during the rotation') {
    return { counted: false, eventType: 'token.refresh_token_reused', reason: err.reason }
  }
  if (err.reason === 'jti replay') return { counted: true, eventType: 'token.jti_replay_refused', reason: err.reason }
  return { counted: true, eventType: 'token.refused', reason: `${err.error}: ${reasonCategory(err.reason)}` }
}

/** Records the refusal of a token request from a known client of a known organization. */
export async function auditRefusal (db: Db, request: FastifyRequest, org: Organization, client: Client, grantType: string, err: OAuthError): Promise<void> {
  const src = requestAuditSource(request, org.id, { type: 'client', id: client.id })
  const event = refusalEvent(err)
  const input: AuditInput = {
    eventType: event.eventType,
    target: { type: 'client', id: client.id, name: client.name },
    reason: event.reason,
    changes: [{ field: 'grant_type', new_value: grantType.slice(0, 100) }]
  }
  if (event.counted) await countAuditEventInMinute(db, src, input)
  else await recordAuditEvent(db, src, input)
}
