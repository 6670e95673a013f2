// Owner of the `revoked_tokens` table: the jtis of access tokens revoked before they expire.
import { sql } from 'kysely'
import { type Db, deleteBatch, subquery } from './db.js'

/** Adds access tokens to the revocation list; a jti listed already is left as it is. */
export async function insertRevocations (db: Db, tokens: ReadonlyArray<{ jti: string, expiresAt: Date }>): Promise<void> {
  if (tokens.length === 0) return
  await db.insertInto('revoked_tokens').values(tokens.map((t) => ({ jti: t.jti, expires_at: t.expiresAt })))
    .onConflict((oc) => oc.column('jti').doNothing()).execute()
}

/** Every revocation of a token that has not expired yet: what an instance keeps in memory (cache/token-facts.ts). */
export async function unexpiredRevocations (db: Db): Promise<Array<{ jti: string, expiresAt: Date }>> {
  const rows = await db.selectFrom('revoked_tokens').select(['jti', 'expires_at']).where('expires_at', '>', sql<Date>`now()`).execute()
  return rows.map((r) => ({ jti: r.jti, expiresAt: r.expires_at }))
}

/** Subquery: the revocation of this jti, for an EXISTS in another owner's query. */
export function revokedTokenRow (jti: string) {
  return subquery.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti)
}

/** Deletes the revocations of tokens that have expired anyway; returns how many. */
export async function purgeRevokedTokens (db: Db, limit?: number): Promise<number> {
  return await deleteBatch(db, 'revoked_tokens', sql`expires_at < now()`, limit)
}
