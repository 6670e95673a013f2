// Owner of the `browser_sessions` table. Rows are keyed by the hash of the cookie value.
import { sql } from 'kysely'
import { deleteBatch, type Db } from './db.js'
import { activeUsers } from './users.js'

/** Stores a session valid `ttl` seconds, and `idleTtl` unused (never past its end). */
export async function insertSession (db: Db, s: { idHash: string, orgId: string, userId: string, ttl: number, idleTtl: number }): Promise<void> {
  await db.insertInto('browser_sessions').values({
    id_hash: s.idHash,
    organization_id: s.orgId,
    user_id: s.userId,
    expires_at: sql<Date>`now() + make_interval(secs => ${s.ttl})`,
    idle_expires_at: sql<Date>`now() + make_interval(secs => ${Math.min(s.idleTtl, s.ttl)})`
  }).execute()
}

/**
 * The live session's user when that user is still active: its idle deadline moves forward by
 * `idleTtl` (never past the session's end), in the same statement. Undefined otherwise.
 */
export async function touchSession (db: Db, orgId: string, idHash: string, idleTtl: number): Promise<{ id: string, email: string, organization_admin: boolean } | undefined> {
  return await db.updateTable('browser_sessions as s')
    .from(activeUsers().as('u'))
    .set({ idle_expires_at: sql<Date>`least(s.expires_at, now() + make_interval(secs => ${idleTtl}))` })
    .whereRef('u.id', '=', 's.user_id')
    .where('s.id_hash', '=', idHash)
    .where('s.organization_id', '=', orgId)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('s.idle_expires_at', '>', sql<Date>`now()`)
    .returning(['u.id', 'u.email', 'u.organization_admin'])
    .executeTakeFirst()
}

/** Ends the session with this hash (logout). */
export async function deleteSession (db: Db, idHash: string): Promise<void> {
  await db.deleteFrom('browser_sessions').where('id_hash', '=', idHash).execute()
}

/** Ends every session of the user (a password change, a deactivation). */
export async function deleteSessionsOfUser (db: Db, orgId: string, userId: string): Promise<void> {
  await db.deleteFrom('browser_sessions').where('organization_id', '=', orgId).where('user_id', '=', userId).execute()
}

/** Deletes the sessions that ended or went idle; returns how many. */
export async function purgeBrowserSessions (db: Db, limit?: number): Promise<number> {
  // Both columns are indexed (migrations 0003 and 0007): PostgreSQL ORs the two index scans.
  return await deleteBatch(db, 'browser_sessions', sql`(expires_at < now() OR idle_expires_at < now())`, limit)
}
