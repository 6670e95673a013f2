// The background purge: each table's owner deletes its own expired rows, in batches, and one
// instance at a time runs it (docs/cluster.md).
import { purgeAssertionJtis } from '../store/assertion-jtis.js'
import { purgeAuditEvents } from '../store/audit-events.js'
import { purgeAuthorizationCodes } from '../store/authorization-codes.js'
import { purgeBrowserSessions } from '../store/browser-sessions.js'
import { PURGE_BATCH, type Db } from '../store/db.js'
import { PURGE_LOCK, withAdvisoryLock } from '../store/locks.js'
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

const DEFAULT_RETENTION: Retention = { usedCodeSeconds: 24 * 3600, eventDays: 365 }

/**
 * Deletes what has expired anyway: jti records, revocations, sessions, sign-in failure windows,
 * refresh tokens, used codes, and audit events past their retention. Each table in statements of
 * at most `batch` rows, one after the other, until a statement finds fewer. Returns the rows removed.
 */
export async function purgeExpired (db: Db, retention: Retention = DEFAULT_RETENTION, batch = PURGE_BATCH): Promise<number> {
  const purges: Array<(limit: number) => Promise<number>> = [
    async (n) => await purgeAssertionJtis(db, n),
    async (n) => await purgeRevokedTokens(db, n),
    async (n) => await purgeBrowserSessions(db, n),
    async (n) => await purgeLoginFailures(db, n),
    async (n) => await purgeAuthorizationCodes(db, retention.usedCodeSeconds, n),
    async (n) => await purgeAuditEvents(db, retention.eventDays, n),
    async (n) => await purgeRefreshTokens(db, n)
  ]
  let total = 0
  for (const purge of purges) {
    for (;;) {
      const removed = await purge(batch)
      total += removed
      if (removed < batch) break
    }
  }
  return total
}

/**
 * purgeExpired on one instance at a time: undefined when another instance is running it now (its
 * advisory lock is taken). Every instance calls this on its timer; the first one in does the work.
 */
export async function purgeExpiredOnce (db: Db, retention: Retention = DEFAULT_RETENTION, batch = PURGE_BATCH): Promise<number | undefined> {
  const outcome = await withAdvisoryLock(db, PURGE_LOCK, async (conn) => await purgeExpired(conn, retention, batch))
  return outcome.ran ? outcome.result : undefined
}
