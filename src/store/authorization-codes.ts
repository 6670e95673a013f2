// Owner of the `authorization_codes` table. Rows are keyed by the hash of the code.
import { sql } from 'kysely'
import type { AuthorizationCode } from '../db/schema.js'
import { deleteBatch, type Db } from './db.js'

/** What a new code is bound to. */
export interface NewCodeRow {
  codeHash: string
  orgId: string
  clientId: string
  userId: string
  redirectUri: string
  redirectUriGiven: boolean
  scope: string
  codeChallenge: string | null
  ttl: number
}

/** Stores a code valid `ttl` seconds by the database's clock. */
export async function insertCode (db: Db, c: NewCodeRow): Promise<void> {
  await db.insertInto('authorization_codes').values({
    code_hash: c.codeHash,
    organization_id: c.orgId,
    client_id: c.clientId,
    user_id: c.userId,
    redirect_uri: c.redirectUri,
    redirect_uri_given: c.redirectUriGiven,
    scope: c.scope,
    code_challenge: c.codeChallenge,
    expires_at: sql<Date>`now() + make_interval(secs => ${c.ttl})`
  }).execute()
}

/** Marks the client's unused code used, in one statement; answers its row and whether it had not expired. */
export async function markCodeUsed (db: Db, orgId: string, clientId: string, codeHash: string): Promise<{ row: AuthorizationCode, live: boolean } | undefined> {
  const row = await db.updateTable('authorization_codes').set({ used_at: sql<Date>`now()` })
    .where('code_hash', '=', codeHash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .where('used_at', 'is', null)
    // Expiry by the database's clock, the one that set expires_at, so instances need not agree on time.
    .returningAll().returning(sql<boolean>`expires_at > now()`.as('live')).executeTakeFirst()
  if (!row) return undefined
  const { live, ...code } = row
  return { row: code, live }
}

/** What an exchange issued, to be revoked when the code is used again. */
export type IssuedByCode = Pick<AuthorizationCode, 'access_token_jti' | 'access_token_expires_at' | 'refresh_family_id'>

/** Marks the client's code as reused; answers what its first exchange issued, or undefined for no such code. */
export async function markCodeReused (db: Db, orgId: string, clientId: string, codeHash: string): Promise<IssuedByCode | undefined> {
  return await db.updateTable('authorization_codes').set({ reused_at: sql<Date>`now()` })
    .where('code_hash', '=', codeHash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .returning(['access_token_jti', 'access_token_expires_at', 'refresh_family_id'])
    .executeTakeFirst()
}

/** Records what an exchange issued; answers whether a reuse was recorded meanwhile. */
export async function recordCodeIssue (db: Db, codeHash: string, issued: { jti: string, expiresAt: Date, familyId: string | null }): Promise<{ reused: boolean }> {
  const row = await db.updateTable('authorization_codes')
    .set({ access_token_jti: issued.jti, access_token_expires_at: issued.expiresAt, refresh_family_id: issued.familyId })
    .where('code_hash', '=', codeHash)
    .returning(['reused_at']).executeTakeFirst()
  return { reused: row?.reused_at != null }
}

/** Ends the user's live codes not exchanged yet (a deactivation): an exchange then reads `expired`. */
export async function expirePendingCodesOfUser (db: Db, userId: string): Promise<void> {
  await db.updateTable('authorization_codes').set({ expires_at: sql<Date>`now()` })
    .where('user_id', '=', userId).where('used_at', 'is', null)
    // Only live codes: the expires_at index finds them, as the table has no index on user_id.
    .where('expires_at', '>', sql<Date>`now()`)
    .execute()
}

/** Deletes the codes the user was given for the client and has not exchanged (a consent withdrawn). */
export async function deletePendingCodesOf (db: Db, userId: string, clientId: string): Promise<void> {
  await db.deleteFrom('authorization_codes').where('user_id', '=', userId).where('client_id', '=', clientId).where('used_at', 'is', null).execute()
}

/**
 * Deletes codes `retentionSeconds` past their expiry: a used code is kept that long so that its
 * reuse still revokes what it issued while that may live. Returns how many.
 */
export async function purgeAuthorizationCodes (db: Db, retentionSeconds: number, limit?: number): Promise<number> {
  return await deleteBatch(db, 'authorization_codes', sql`expires_at < now() - make_interval(secs => ${retentionSeconds})`, limit)
}
