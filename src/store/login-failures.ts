// Owner of the `login_failures` table: sign-in attempts counted per key in fixed windows.
import { sql } from 'kysely'
import { deleteBatch, type Db } from './db.js'

/**
 * Counts one attempt against each key, in one statement: a window that has ended starts again at
 * one. Answers each key's count and the seconds left in its window.
 */
export async function countFailures (db: Db, keys: readonly string[], windowSeconds: number): Promise<Array<{ key: string, failures: number, remaining: number }>> {
  const rows = await db.insertInto('login_failures')
    .values(keys.map((key) => ({
      key, failures: 1, window_start: sql<Date>`now()`, expires_at: sql<Date>`now() + make_interval(secs => ${windowSeconds})`
    })))
    .onConflict((oc) => oc.column('key').doUpdateSet({
      failures: sql<number>`CASE WHEN login_failures.expires_at <= now() THEN 1 ELSE login_failures.failures + 1 END`,
      window_start: sql<Date>`CASE WHEN login_failures.expires_at <= now() THEN now() ELSE login_failures.window_start END`,
      expires_at: sql<Date>`CASE WHEN login_failures.expires_at <= now() THEN excluded.expires_at ELSE login_failures.expires_at END`
    }))
    .returning(['key', 'failures', sql<number>`ceil(extract(epoch from (expires_at - now())))`.as('remaining')])
    .execute()
  return rows.map((r) => ({ key: r.key, failures: r.failures, remaining: Number(r.remaining) }))
}

/** Clears a key's count. */
export async function clearFailures (db: Db, key: string): Promise<void> {
  await db.deleteFrom('login_failures').where('key', '=', key).execute()
}

/** Takes one attempt back from a key's count. */
export async function forgiveOneFailure (db: Db, key: string): Promise<void> {
  await db.updateTable('login_failures').set({ failures: sql<number>`greatest(failures - 1, 0)` }).where('key', '=', key).execute()
}

/** Deletes the windows that have ended; returns how many. */
export async function purgeLoginFailures (db: Db, limit?: number): Promise<number> {
  return await deleteBatch(db, 'login_failures', sql`expires_at < now()`, limit)
}
