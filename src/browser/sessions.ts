// Browser sessions: an opaque cookie whose hash keys a row of store/browser-sessions.ts.
import { hashOpaque, looksOpaque, newOpaqueSecret } from '../oauth/opaque.js'
import { deleteSession, insertSession, touchSession } from '../store/browser-sessions.js'
import type { Db } from '../store/db.js'

/** A live browser session and its user, as the pages need it. */
export interface SignedIn {
  userId: string
  email: string
  isAdmin: boolean
}

/** Starts a session for the user; returns the cookie value (only its hash is stored). */
export async function createSession (db: Db, orgId: string, userId: string, ttl: number, idleTtl: number): Promise<string> {
  const id = newOpaqueSecret()
  await insertSession(db, { idHash: hashOpaque(id), orgId, userId, ttl, idleTtl })
  return id
}

/**
 * The session's user when the session is live (neither expired nor idle too long) and the user is
 * still an active member of the org; its idle deadline moves forward. Undefined otherwise.
 */
export async function findSession (db: Db, orgId: string, cookie: string | undefined, idleTtl: number): Promise<SignedIn | undefined> {
  if (!cookie || !looksOpaque(cookie)) return undefined
  const row = await touchSession(db, orgId, hashOpaque(cookie), idleTtl)
  return row ? { userId: row.id, email: row.email, isAdmin: row.organization_admin } : undefined
}

/** Ends the session (logout); unknown values are ignored. */
export async function endSession (db: Db, cookie: string | undefined): Promise<void> {
  if (!cookie || !looksOpaque(cookie)) return
  await deleteSession(db, hashOpaque(cookie))
}
