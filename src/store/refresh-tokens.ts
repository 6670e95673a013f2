// Owner of the `refresh_tokens` table. Rows are keyed by the hash of the token.
import { sql } from 'kysely'
import type { RefreshToken } from '../db/schema.js'
import { deleteBatch, type Db } from './db.js'

/** A new refresh token's row. */
export interface NewRefreshTokenRow {
  tokenHash: string
  familyId: string
  orgId: string
  clientId: string
  userId: string
  scope: string
  familyExpiresAt: Date
  idleTtl: number
  accessTokenJti: string
  accessTokenExpiresAt: Date
}

/** Stores a refresh token; its idle deadline is `idleTtl` from now, never past its family's end. */
export async function insertRefreshToken (db: Db, r: NewRefreshTokenRow): Promise<void> {
  await db.insertInto('refresh_tokens').values({
    token_hash: r.tokenHash,
    family_id: r.familyId,
    organization_id: r.orgId,
    client_id: r.clientId,
    user_id: r.userId,
    scope: r.scope,
    expires_at: r.familyExpiresAt,
    idle_expires_at: sql<Date>`least(${r.familyExpiresAt}::timestamptz, now() + make_interval(secs => ${r.idleTtl}))`,
    access_token_jti: r.accessTokenJti,
    access_token_expires_at: r.accessTokenExpiresAt
  }).execute()
}

/**
 * Marks the client's token used if it is neither used nor revoked, in one conditional statement
 * (of two concurrent uses exactly one wins); answers its row and whether it is still live.
 */
export async function markRefreshTokenUsed (db: Db, orgId: string, clientId: string, tokenHash: string): Promise<{ row: RefreshToken, live: boolean } | undefined> {
  const row = await db.updateTable('refresh_tokens').set({ used_at: sql<Date>`now()` })
    .where('token_hash', '=', tokenHash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .where('used_at', 'is', null).where('revoked_at', 'is', null)
    // Expiry by the database's clock, the one that set the deadlines, so instances need not agree on time.
    .returningAll().returning(sql<boolean>`expires_at > now() AND idle_expires_at > now()`.as('live')).executeTakeFirst()
  if (!row) return undefined
  const { live, ...token } = row
  return { row: token, live }
}

/** The client's token by hash, used or not: its family and whether it was revoked. */
export async function findRefreshTokenState (db: Db, orgId: string, clientId: string, tokenHash: string): Promise<Pick<RefreshToken, 'family_id' | 'used_at' | 'revoked_at'> | undefined> {
  return await db.selectFrom('refresh_tokens').select(['family_id', 'used_at', 'revoked_at'])
    .where('token_hash', '=', tokenHash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .executeTakeFirst()
}

/** The scope of the client's token while it is neither used nor revoked. */
export async function findLiveRefreshTokenScope (db: Db, orgId: string, clientId: string, tokenHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('refresh_tokens').select('scope')
    .where('token_hash', '=', tokenHash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .where('used_at', 'is', null).where('revoked_at', 'is', null)
    .executeTakeFirst()
  return row?.scope
}

/** Whether any token of the family was revoked. */
export async function familyHasRevokedToken (db: Db, familyId: string): Promise<boolean> {
  const row = await db.selectFrom('refresh_tokens').select('token_hash')
    .where('family_id', '=', familyId).where('revoked_at', 'is not', null).limit(1).executeTakeFirst()
  return row !== undefined
}

/** Which refresh tokens to revoke: one family, or all a user holds (for one client, or any). */
export type RefreshTokenHolder = { familyId: string } | { userId: string, clientId?: string }

/** Revokes the matching tokens not revoked yet; answers the access tokens they issued, to revoke with them. */
export async function markRefreshTokensRevoked (db: Db, holder: RefreshTokenHolder): Promise<Array<{ jti: string, expiresAt: Date }>> {
  let query = db.updateTable('refresh_tokens').set({ revoked_at: sql<Date>`now()` }).where('revoked_at', 'is', null)
  if ('familyId' in holder) query = query.where('family_id', '=', holder.familyId)
  else {
    query = query.where('user_id', '=', holder.userId)
    if (holder.clientId !== undefined) query = query.where('client_id', '=', holder.clientId)
  }
  const rows = await query.returning(['access_token_jti', 'access_token_expires_at']).execute()
  return rows.map((r) => ({ jti: r.access_token_jti, expiresAt: r.access_token_expires_at }))
}

/** Deletes the tokens whose family has ended; returns how many. */
export async function purgeRefreshTokens (db: Db, limit?: number): Promise<number> {
  return await deleteBatch(db, 'refresh_tokens', sql`expires_at < now()`, limit)
}
