// Advisory locks: a background job that must run on one instance at a time (the purge, the
// scheduled key rotation) takes a session-level advisory lock on a connection of its own for as
// long as it runs; the others find it taken and skip their turn. If the instance dies, PostgreSQL
// releases the lock with its session.
import { sql } from 'kysely'
import { isEmbedded } from '../db/connect.js'
import type { Db } from './db.js'

/** The purge's lock: one number for the whole database, "aoc" and 1. */
export const PURGE_LOCK = 0x616f6301

/** The scheduled signing-key rotation's lock: "aoc" and 2. */
export const KEY_ROTATION_LOCK = 0x616f6302

/**
 * Runs `job` on one connection while holding advisory lock `key`, if no other session holds it;
 * `{ ran: false }` if one does. The embedded database has one session: the lock is always free.
 */
export async function withAdvisoryLock<T> (db: Db, key: number, job: (conn: Db) => Promise<T>): Promise<{ ran: true, result: T } | { ran: false }> {
  // PGlite is one session and one instance: no other can hold the lock, and checking out its only
  // connection for the whole job would stall every request through the job's pauses (the purge's).
  if (isEmbedded(db)) return { ran: true, result: await job(db) }
  return await db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${key}) AS locked`.execute(conn)
    if (rows[0]?.locked !== true) return { ran: false as const }
    try {
      return { ran: true as const, result: await job(conn) }
    } finally {
      await sql`SELECT pg_advisory_unlock(${key})`.execute(conn)
    }
  })
}
