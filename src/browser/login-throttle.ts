import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

type Db = Kysely<Database>

/**
 * Failed sign-ins are counted per account and per source address in fixed windows, in the
 * database so that every instance counts together. The account key is made from the e-mail as
 * typed (lower-cased), whether or not such a user exists, so the throttle tells nothing about it.
 */
export function throttleKeys (orgId: string, email: string, address: string): { account: string, address: string } {
  return { account: `account:${orgId}:${email.trim().toLowerCase().slice(0, 320)}`, address: `address:${address}` }
}

export interface ThrottleLimits { perAccount: number, perAddress: number }

/** Seconds until sign-in may be tried again, when either key has used up its failures; else undefined. */
export async function loginBlockedFor (db: Db, keys: { account: string, address: string }, limits: ThrottleLimits): Promise<number | undefined> {
  const rows = await db.selectFrom('login_failures')
    .select(['key', 'failures', sql<number>`ceil(extract(epoch from (expires_at - now())))`.as('remaining')])
    .where('key', 'in', [keys.account, keys.address])
    .where('expires_at', '>', sql<Date>`now()`)
    .execute()
  let wait: number | undefined
  for (const r of rows) {
    const max = r.key === keys.account ? limits.perAccount : limits.perAddress
    if (r.failures >= max) wait = Math.max(wait ?? 0, Math.max(1, Number(r.remaining)))
  }
  return wait
}

/** Counts one failure against each key; a window that has ended starts again at one. */
export async function recordLoginFailure (db: Db, keys: { account: string, address: string }, windowSeconds: number): Promise<void> {
  const window = sql<Date>`now() + make_interval(secs => ${windowSeconds})`
  await db.insertInto('login_failures')
    .values([keys.account, keys.address].map((key) => ({ key, failures: 1, window_start: sql<Date>`now()`, expires_at: window })))
    .onConflict((oc) => oc.column('key').doUpdateSet({
      failures: sql<number>`CASE WHEN login_failures.expires_at <= now() THEN 1 ELSE login_failures.failures + 1 END`,
      window_start: sql<Date>`CASE WHEN login_failures.expires_at <= now() THEN now() ELSE login_failures.window_start END`,
      expires_at: sql<Date>`CASE WHEN login_failures.expires_at <= now() THEN excluded.expires_at ELSE login_failures.expires_at END`
    }))
    .execute()
}

/** A successful sign-in clears the account's count (not the address's: one good account must not reset an attack on others). */
export async function clearAccountFailures (db: Db, accountKey: string): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', accountKey).execute()
}
