// The background purge: each table's owner deletes its own expired rows.
import { purgeAssertionJtis } from '../store/assertion-jtis.js'
import { purgeAuditEvents } from '../store/audit-events.js'
import { purgeAuthorizationCodes } from '../store/authorization-codes.js'
import { purgeBrowserSessions } from '../store/browser-sessions.js'
import type { Db } from '../store/db.js'
import { purgeLoginFailures } from '../store/login-failures.js'
import { purgeRefreshTokens } from '../store/refresh-tokens.js'
import { purgeRevokedTokens } from '../store/revoked-tokens.js'

/** How long rows are kept past their use. */
export interface Retention {
  /** a code past its expiry (the app passes the refresh-token lifetime): its reuse still revokes what it issued while that may live */
  usedCodeSeconds: number
  /** audit events (EVENT_RETENTION_DAYS) */
  eventDays: number
}

/**
 * Deletes what has expired anyway: jti records, revocations, sessions, sign-in failure windows,
 * refresh tokens, used codes, and audit events past their retention. Returns the rows removed.
 */
export async function purgeExpired (db: Db, retention: Retention = { usedCodeSeconds: 24 * 3600, eventDays: 365 }): Promise<number> {
  const counts = await Promise.all([
    purgeAssertionJtis(db),
    purgeRevokedTokens(db),
    purgeBrowserSessions(db),
    purgeLoginFailures(db),
    purgeAuthorizationCodes(db, retention.usedCodeSeconds),
    purgeAuditEvents(db, retention.eventDays),
    purgeRefreshTokens(db)
  ])
  return counts.reduce((a, b) => a + b, 0)
}
