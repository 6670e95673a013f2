import type { Config } from '../config.js'
import type { Db } from '../store/db.js'
import { clearFailures, countFailures, forgiveOneFailure } from '../store/login-failures.js'

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
  const rows = await countFailures(db, [keys.account, keys.address], limits.windowSeconds)
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
  await clearFailures(db, keys.account)
  await forgiveOneFailure(db, keys.address)
}
