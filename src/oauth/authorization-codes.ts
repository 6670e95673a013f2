// Authorization codes (RFC 6749 §4.1): random, single-use, short-lived, stored hashed; a reuse
// revokes what the first exchange issued (§4.1.2). The rows are store/authorization-codes.ts's.
import type { AuthorizationCode } from '../db/schema.js'
import * as codes from '../store/authorization-codes.js'
import type { Db } from '../store/db.js'
import { hashOpaque, looksOpaque, newOpaqueSecret } from './opaque.js'
import { revokeAccessTokens, revokeFamily } from './refresh-tokens.js'

/** What a code is bound to: client, redirect URI, scopes, user, PKCE challenge. */
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
  await codes.insertCode(db, { ...grant, codeHash: hashOpaque(code), codeChallenge: grant.codeChallenge ?? null, ttl })
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
  const used = await codes.markCodeUsed(db, orgId, clientId, hash)
  if (used) return used.live ? { ok: true, row: used.row } : { ok: false, reason: 'expired' }
  const reused = await codes.markCodeReused(db, orgId, clientId, hash)
  if (!reused) return { ok: false, reason: 'unknown' }
  await revokeIssued(db, reused)
  return { ok: false, reason: 'reused' }
}

async function revokeIssued (db: Db, issued: codes.IssuedByCode): Promise<void> {
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
  const familyId = issued.familyId ?? null
  const { reused } = await codes.recordCodeIssue(db, codeHash, { jti: issued.jti, expiresAt: issued.expiresAt, familyId })
  if (reused) {
    await revokeIssued(db, { access_token_jti: issued.jti, access_token_expires_at: issued.expiresAt, refresh_family_id: familyId })
    return false
  }
  return true
}
