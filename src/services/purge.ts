// The background purge: each table's owner deletes its own expired rows.
import { purgeAssertionJtis } from '../store/assertion-jtis.js'
import { purgeAuthorizationCodes } from '../store/authorization-codes.js'
import { purgeBrowserSessions } from '../store/browser-sessions.js'
import type { Db } from '../store/db.js'
import { purgeLoginFailures } from '../store/login-failures.js'
import { purgeRefreshTokens } from '../store/refresh-tokens.js'
import { purgeRevokedTokens } from '../store/revoked-tokens.js'

/**
 * Deletes what has expired anyway: jti records, revocations, sessions, sign-in failure windows and
 * refresh tokens. A code is kept `usedCodeRetentionSeconds` past its expiry (the app passes the
 * refresh-token lifetime), so that its reuse still revokes what it issued while that may live.
 * Returns the rows removed.
 */
export async function purgeExpired (db: Db, usedCodeRetentionSeconds = 24 * 3600): Promise<number> {
  const counts = await Promise.all([
    purgeAssertionJtis(db),
    purgeRevokedTokens(db),
    purgeBrowserSessions(db),
    purgeLoginFailures(db),
    purgeAuthorizationCodes(db, usedCodeRetentionSeconds),
    purgeRefreshTokens(db)
  ])
  return counts.reduce((a, b) => a + b, 0)
}
