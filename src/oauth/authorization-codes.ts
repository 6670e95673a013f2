import { sql, type Kysely } from 'kysely'
import type { AuthorizationCode, Database } from '../db/schema.js'
import { hashOpaque, looksOpaque, newOpaqueSecret } from './opaque.js'
import { revokeAccessTokens, revokeFamily } from './refresh-tokens.js'

type Db = Kysely<Database>

/** What a code is bound to (issue 4: client, redirect URI, scopes, user, PKCE challenge). */
export interface CodeGrant {
  orgId: string
  clientId: string
  userId: string
  redirectUri: string
  redirectUriGiven: boolean
  scope: string
  codeChallenge: string | undefined
}

/** Makes a code valid `ttl` seconds; only its hash is stored. */
export async function createAuthorizationCode (db: Db, grant: CodeGrant, ttl: number): Promise<string> {
  const code = newOpaqueSecret()
  await db.insertInto('authorization_codes').values({
    code_hash: hashOpaque(code),
    organization_id: grant.orgId,
    client_id: grant.clientId,
    user_id: grant.userId,
    redirect_uri: grant.redirectUri,
    redirect_uri_given: grant.redirectUriGiven,
    scope: grant.scope,
    code_challenge: grant.codeChallenge ?? null,
    expires_at: sql<Date>`now() + make_interval(secs => ${ttl})`
  }).execute()
  return code
}

export type RedeemResult =
  | { ok: true, row: AuthorizationCode }
  | { ok: false, reason: 'unknown' | 'expired' | 'reused' }

/**
 * Marks the client's code used and answers it. A code used before is refused, and what its first
 * exchange issued is revoked (RFC 6749 §4.1.2); `reused_at` tells a first exchange still in flight
 * to revoke what it is about to record (see recordIssued).
 */
export async function redeemAuthorizationCode (db: Db, orgId: string, clientId: string, code: string): Promise<RedeemResult> {
  if (!looksOpaque(code)) return { ok: false, reason: 'unknown' }
  const hash = hashOpaque(code)
  const row = await db.updateTable('authorization_codes').set({ used_at: sql<Date>`now()` })
    .where('code_hash', '=', hash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .where('used_at', 'is', null)
    // Expiry by the database's clock, the one that set expires_at, so instances need not agree on time.
    .returningAll().returning(sql<boolean>`expires_at > now()`.as('live')).executeTakeFirst()
  if (row) {
    const { live, ...code } = row
    return live ? { ok: true, row: code } : { ok: false, reason: 'expired' }
  }
  const used = await db.updateTable('authorization_codes').set({ reused_at: sql<Date>`now()` })
    .where('code_hash', '=', hash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .returning(['access_token_jti', 'access_token_expires_at', 'refresh_family_id'])
    .executeTakeFirst()
  if (!used) return { ok: false, reason: 'unknown' }
  await revokeIssued(db, used)
  return { ok: false, reason: 'reused' }
}

/**
 * Ends the user's codes not exchanged yet (a deactivation), so that none is exchanged once the user
 * is active again; an exchange then reads `expired`. Runs in the caller's transaction.
 */
export async function expirePendingCodesOfUser (db: Db, userId: string): Promise<void> {
  await db.updateTable('authorization_codes').set({ expires_at: sql<Date>`now()` })
    .where('user_id', '=', userId).where('used_at', 'is', null)
    // Only live codes: the expires_at index finds them, as the table has no index on user_id.
    .where('expires_at', '>', sql<Date>`now()`)
    .execute()
}

async function revokeIssued (db: Db, issued: Pick<AuthorizationCode, 'access_token_jti' | 'access_token_expires_at' | 'refresh_family_id'>): Promise<void> {
  if (issued.access_token_jti && issued.access_token_expires_at) {
    await revokeAccessTokens(db, [{ jti: issued.access_token_jti, expiresAt: issued.access_token_expires_at }])
  }
  if (issued.refresh_family_id) await revokeFamily(db, issued.refresh_family_id)
}

/**
 * Records what an exchange issued, so that a later reuse of the code revokes it. When a reuse came
 * in meanwhile, revokes it at once and answers false: the exchange must then fail too.
 */
export async function recordIssued (db: Db, codeHash: string, issued: { jti: string, expiresAt: Date, familyId: string | undefined }): Promise<boolean> {
  const row = await db.updateTable('authorization_codes')
    .set({ access_token_jti: issued.jti, access_token_expires_at: issued.expiresAt, refresh_family_id: issued.familyId ?? null })
    .where('code_hash', '=', codeHash)
    .returning(['reused_at']).executeTakeFirst()
  if (row?.reused_at) {
    await revokeIssued(db, { access_token_jti: issued.jti, access_token_expires_at: issued.expiresAt, refresh_family_id: issued.familyId ?? null })
    return false
  }
  return true
}
