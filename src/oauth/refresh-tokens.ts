// Refresh tokens (RFC 6749 §6, RFC 9700 §4.14): opaque, single-use, rotated in families; a replay
// revokes the family. The rows are store/refresh-tokens.ts's; this module holds the rules.
import { newId } from '../ids.js'
import type { RefreshToken } from '../db/schema.js'
import type { Db } from '../store/db.js'
import * as tokens from '../store/refresh-tokens.js'
import { insertRevocations } from '../store/revoked-tokens.js'
import { hashOpaque, looksOpaque, newOpaqueSecret } from './opaque.js'

export interface NewRefreshToken {
  /** undefined starts a family (a code exchange); a rotation passes its family on */
  familyId?: string
  orgId: string
  clientId: string
  userId: string
  scope: string
  /** the family's absolute end: set at the code exchange, inherited by every rotation */
  familyExpiresAt: Date
  idleTtl: number
  /** the access token issued with it, revoked with the family */
  accessTokenJti: string
  accessTokenExpiresAt: Date
}

/** Stores a new refresh token (its hash only) and returns it with its family. */
export async function issueRefreshToken (db: Db, input: NewRefreshToken): Promise<{ token: string, familyId: string }> {
  const token = newOpaqueSecret()
  const familyId = input.familyId ?? newId()
  await tokens.insertRefreshToken(db, { ...input, tokenHash: hashOpaque(token), familyId })
  return { token, familyId }
}

/** Why a refresh token was refused; `reused` means the family has just been revoked. */
export type RotateResult =
  | { ok: true, row: RefreshToken }
  | { ok: false, reason: 'unknown' | 'revoked' | 'expired' | 'reused' }

/**
 * Uses a refresh token once: marks it used and answers its row. A token already used is a replay
 * (RFC 9700 §4.14.2): its whole family is revoked, with the access tokens it issued. The mark is
 * one conditional update, so of two concurrent uses exactly one wins.
 */
export async function useRefreshToken (db: Db, orgId: string, clientId: string, token: string): Promise<RotateResult> {
  if (!looksOpaque(token)) return { ok: false, reason: 'unknown' }
  const hash = hashOpaque(token)
  const used = await tokens.markRefreshTokenUsed(db, orgId, clientId, hash)
  if (used) return used.live ? { ok: true, row: used.row } : { ok: false, reason: 'expired' }
  const seen = await tokens.findRefreshTokenState(db, orgId, clientId, hash)
  if (!seen) return { ok: false, reason: 'unknown' }
  // Revoked again even when revoked already: a rotation racing the first revocation may have added a token since.
  await revokeFamily(db, seen.family_id)
  return { ok: false, reason: seen.revoked_at ? 'revoked' : 'reused' }
}

/**
 * Whether any token of the family was revoked. A rotation checks it after storing its new token:
 * a replay that revoked the family meanwhile did not see that token, so the rotation revokes it.
 */
export async function familyRevoked (db: Db, familyId: string): Promise<boolean> {
  return await tokens.familyHasRevokedToken(db, familyId)
}

/**
 * Revokes the matching refresh tokens that are not revoked yet, and the access tokens they issued
 * that have not expired. In the caller's transaction, if it has one.
 */
async function revokeRefreshTokens (db: Db, holder: tokens.RefreshTokenHolder): Promise<void> {
  await revokeAccessTokens(db, await tokens.markRefreshTokensRevoked(db, holder))
}

/** Revokes every token of a family, and the access tokens they issued that have not expired. */
export async function revokeFamily (db: Db, familyId: string): Promise<void> {
  await db.transaction().execute(async (trx) => { await revokeRefreshTokens(trx, { familyId }) })
}

/**
 * Revokes every refresh token of the user, with the access tokens they issued (a password set or
 * removed, a deactivation). Runs in the caller's transaction.
 */
export async function revokeRefreshTokensOfUser (db: Db, userId: string): Promise<void> {
  await revokeRefreshTokens(db, { userId })
}

/** Revokes the refresh-token families a user gave a client (consent withdrawn). In the caller's transaction. */
export async function revokeFamiliesOf (db: Db, userId: string, clientId: string): Promise<void> {
  await revokeRefreshTokens(db, { userId, clientId })
}

/**
 * The scope of a client's refresh token that is still usable (neither used nor revoked); undefined
 * otherwise, so that a replayed token always reaches useRefreshToken and revokes its family.
 */
export async function liveRefreshTokenScope (db: Db, orgId: string, clientId: string, token: string): Promise<string | undefined> {
  if (!looksOpaque(token)) return undefined
  return await tokens.findLiveRefreshTokenScope(db, orgId, clientId, hashOpaque(token))
}

/** Finds the family of a client's refresh token (for RFC 7009 revocation); undefined when not the client's. */
export async function familyOfToken (db: Db, orgId: string, clientId: string, token: string): Promise<string | undefined> {
  if (!looksOpaque(token)) return undefined
  return (await tokens.findRefreshTokenState(db, orgId, clientId, hashOpaque(token)))?.family_id
}

/** Adds access tokens to the revocation list (those already expired need no entry). */
export async function revokeAccessTokens (db: Db, issued: Array<{ jti: string, expiresAt: Date }>): Promise<void> {
  await insertRevocations(db, issued.filter((t) => t.expiresAt.getTime() > Date.now()))
}
