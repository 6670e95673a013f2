import { sql, type Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/schema.js'

type Db = Kysely<Database>

/**
 * Password attempts are counted per account and per source address in fixed windows, in the
 * database so that every instance counts together. The account key is made from the e-mail as
 * typed (lower-cased), whether or not such a user exists, so the throttle tells nothing about it.
 */
export function throttleKeys (orgId: string, email: string, address: string): ThrottleKeys {
  return { account: `account:${orgId}:${email.trim().toLowerCase().slice(0, 320)}`, address: `address:${address}` }
}

export interface ThrottleKeys { account: string, address: string }
export interface ThrottleLimits { perAccount: number, perAddress: number, windowSeconds: number }

/** The configured limits (LOGIN_MAX_FAILURES_PER_ACCOUNT, _PER_ADDRESS, LOGIN_FAILURE_WINDOW). */
export function throttleLimitsOf (config: Config): ThrottleLimits {
  return { perAccount: config.loginMaxFailuresPerAccount, perAddress: config.loginMaxFailuresPerAddress, windowSeconds: config.loginFailureWindow }
}

/**
 * Counts an attempt against both keys before the password is checked, in one statement, and
 * answers the seconds to wait when either key is over its limit (undefined: go on). Counting first
 * means that concurrent guesses cannot all pass a check made before any of them failed; a success
 * takes its attempt back (forgiveAttempt).
 */
export async function countAttempt (db: Db, keys: ThrottleKeys, limits: ThrottleLimits): Promise<number | undefined> {
  const rows = await db.insertInto('login_failures')
    .values([keys.account, keys.address].map((key) => ({
      key, failures: 1, window_start: sql<Date>`now()`, expires_at: sql<Date>`now() + make_interval(secs => ${limits.windowSeconds})`
    })))
    .onConflict((oc) => oc.column('key').doUpdateSet({
      failures: sql<number>`CASE WHEN login_failures.expires_at <= now() THEN 1 ELSE login_failures.failures + 1 END`,
      window_start: sql<Date>`CASE WHEN login_failures.expires_at <= now() THEN now() ELSE login_failures.window_start END`,
      expires_at: sql<Date>`CASE WHEN login_failures.expires_at <= now() THEN excluded.expires_at ELSE login_failures.expires_at END`
    }))
    .returning(['key', 'failures', sql<number>`ceil(extract(epoch from (expires_at - now())))`.as('remaining')])
    .execute()
  let wait: number | undefined
  for (const r of rows) {
    const max = r.key === keys.account ? limits.perAccount : limits.perAddress
    if (r.failures > max) wait = Math.max(wait ?? 0, Math.max(1, Number(r.remaining)))
  }
  return wait
}

/**
 * After a right password: the account's count is cleared, and the address gets this attempt back
 * (its other failures stand: one good account must not reset an attack on others).
 */
export async function forgiveAttempt (db: Db, keys: ThrottleKeys): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', keys.account).execute()
  await db.updateTable('login_failures').set({ failures: sql<number>`greatest(failures - 1, 0)` }).where('key', '=', keys.address).execute()
}
