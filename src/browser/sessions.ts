import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { hashOpaque, looksOpaque, newOpaqueSecret } from '../oauth/opaque.js'

type Db = Kysely<Database>

/** A live browser session and its user, as the pages need it. */
export interface SignedIn {
  userId: string
  email: string
  isAdmin: boolean
}

/** Starts a session for the user; returns the cookie value (only its hash is stored). */
export async function createSession (db: Db, orgId: string, userId: string, ttl: number, idleTtl: number): Promise<string> {
  const id = newOpaqueSecret()
  await db.insertInto('browser_sessions').values({
    id_hash: hashOpaque(id),
    organization_id: orgId,
    user_id: userId,
    expires_at: sql<Date>`now() + make_interval(secs => ${ttl})`,
    idle_expires_at: sql<Date>`now() + make_interval(secs => ${Math.min(idleTtl, ttl)})`
  }).execute()
  return id
}

/**
 * The session's user when the session is live (neither expired nor idle too long) and the user is
 * still an active member of the org; its idle deadline moves forward. Undefined otherwise.
 */
export async function findSession (db: Db, orgId: string, cookie: string | undefined, idleTtl: number): Promise<SignedIn | undefined> {
  if (!cookie || !looksOpaque(cookie)) return undefined
  const row = await db.updateTable('browser_sessions as s')
    .from('users as u')
    .set({ idle_expires_at: sql<Date>`least(s.expires_at, now() + make_interval(secs => ${idleTtl}))` })
    .whereRef('u.id', '=', 's.user_id')
    .where('s.id_hash', '=', hashOpaque(cookie))
    .where('s.organization_id', '=', orgId)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('s.idle_expires_at', '>', sql<Date>`now()`)
    .where('u.deactivated', '=', false)
    .returning(['u.id', 'u.email', 'u.organization_admin'])
    .executeTakeFirst()
  return row ? { userId: row.id, email: row.email, isAdmin: row.organization_admin } : undefined
}

/** Ends the session (logout); unknown values are ignored. */
export async function endSession (db: Db, cookie: string | undefined): Promise<void> {
  if (!cookie || !looksOpaque(cookie)) return
  await db.deleteFrom('browser_sessions').where('id_hash', '=', hashOpaque(cookie)).execute()
}
