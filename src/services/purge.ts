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

/** How a purge shares the database with the requests it runs beside. */
export interface Pace {
  /** rows per statement */
  batch?: number
  /**
   * The share of wall time the purge may spend in statements (0 < duty <= 1; PURGE_DUTY): after a
   * statement that took d ms it waits d × (1/duty − 1) ms. Proportional, so a busy database (slower
   * statements) gets longer pauses. 1: no pause.
   */
  duty?: number
  /** Stops the purge between two statements (the app's close); what was deleted stays deleted. */
  signal?: AbortSignal
}

/** A tenth of the time: a 5M-row backlog drains in about a minute, and token p99 stays within 20 % (README "Benchmarks"). */
export const DEFAULT_PURGE_DUTY = 0.1

/** Waits `ms`, or less when `signal` aborts meanwhile. */
async function pause (ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return
  await new Promise<void>((resolve) => {
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Deletes what has expired anyway: jti records, revocations, sessions, sign-in failure windows,
 * refresh tokens, used codes, and audit events past their retention. Each table in statements of
 * at most `batch` rows, one after the other, until a statement finds fewer, pausing between
 * statements so that the purge takes at most `duty` of the time. Returns the rows removed.
 */
export async function purgeExpired (db: Db, retention: Retention = DEFAULT_RETENTION, pace: Pace = {}): Promise<number> {
  const { batch = PURGE_BATCH, duty = DEFAULT_PURGE_DUTY, signal } = pace
  if (!(duty > 0 && duty <= 1)) throw new RangeError(`purge duty must be in (0, 1], not ${duty}`)
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
      if (signal?.aborted) return total
      const started = performance.now()
      const removed = await purge(batch)
      total += removed
      if (removed < batch) break
      await pause((performance.now() - started) * (1 / duty - 1), signal)
    }
  }
  return total
}

/**
 * purgeExpired on one instance at a time: undefined when another instance is running it now (its
 * advisory lock is taken). Every instance calls this on its timer; the first one in does the work.
 */
export async function purgeExpiredOnce (db: Db, retention: Retention = DEFAULT_RETENTION, pace: Pace = {}): Promise<number | undefined> {
  const outcome = await withAdvisoryLock(db, PURGE_LOCK, async (conn) => await purgeExpired(conn, retention, pace))
  return outcome.ran ? outcome.result : undefined
}
