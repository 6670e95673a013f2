import { sql, type Kysely } from 'kysely'
import type { Database } from '../db/schema.js'

/**
 * Records an assertion's jti for its client until `expiresAt`. One insert that does nothing on a
 * duplicate: false means the jti was seen before, on this instance or any other.
 */
export async function recordJti (db: Kysely<Database>, clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const row = await db.insertInto('assertion_jtis')
    .values({ client_id: clientId, jti, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['client_id', 'jti']).doNothing())
    .returning('jti')
    .executeTakeFirst()
  return row !== undefined
}

/** Deletes jti records and revocations whose tokens have expired anyway; returns rows removed. */
export async function purgeExpired (db: Kysely<Database>): Promise<number> {
  const a = await db.deleteFrom('assertion_jtis').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst()
  const b = await db.deleteFrom('revoked_tokens').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst()
  return Number(a.numDeletedRows) + Number(b.numDeletedRows)
}
