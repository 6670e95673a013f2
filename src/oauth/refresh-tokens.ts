import { sql, type Kysely } from 'kysely'
import type { Database, RefreshToken } from '../db/schema.js'
import { newId } from '../ids.js'
import { hashOpaque, looksOpaque, newOpaqueSecret } from './opaque.js'

type Db = Kysely<Database>

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
  await db.insertInto('refresh_tokens').values({
    token_hash: hashOpaque(token),
    family_id: familyId,
    organization_id: input.orgId,
    client_id: input.clientId,
    user_id: input.userId,
    scope: input.scope,
    expires_at: input.familyExpiresAt,
    idle_expires_at: sql<Date>`least(${input.familyExpiresAt}::timestamptz, now() + make_interval(secs => ${input.idleTtl}))`,
    access_token_jti: input.accessTokenJti,
    access_token_expires_at: input.accessTokenExpiresAt
  }).execute()
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
  const row = await db.updateTable('refresh_tokens').set({ used_at: sql<Date>`now()` })
    .where('token_hash', '=', hash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .where('used_at', 'is', null).where('revoked_at', 'is', null)
    // Expiry by the database's clock, the one that set the deadlines, so instances need not agree on time.
    .returningAll().returning(sql<boolean>`expires_at > now() AND idle_expires_at > now()`.as('live')).executeTakeFirst()
  if (row) {
    const { live, ...token } = row
    return live ? { ok: true, row: token } : { ok: false, reason: 'expired' }
  }
  const seen = await db.selectFrom('refresh_tokens').select(['family_id', 'used_at', 'revoked_at'])
    .where('token_hash', '=', hash).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .executeTakeFirst()
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
  const row = await db.selectFrom('refresh_tokens').select('token_hash')
    .where('family_id', '=', familyId).where('revoked_at', 'is not', null).limit(1).executeTakeFirst()
  return row !== undefined
}

/** Which refresh tokens to revoke: one family, or all a user holds (for one client, or any). */
type Holder = { familyId: string } | { userId: string, clientId?: string }

/**
 * Revokes the matching refresh tokens that are not revoked yet, and the access tokens they issued
 * that have not expired. In the caller's transaction, if it has one.
 */
async function revokeRefreshTokens (db: Db, holder: Holder): Promise<void> {
  let query = db.updateTable('refresh_tokens').set({ revoked_at: sql<Date>`now()` }).where('revoked_at', 'is', null)
  if ('familyId' in holder) query = query.where('family_id', '=', holder.familyId)
  else {
    query = query.where('user_id', '=', holder.userId)
    if (holder.clientId !== undefined) query = query.where('client_id', '=', holder.clientId)
  }
  const rows = await query.returning(['access_token_jti', 'access_token_expires_at']).execute()
  await revokeAccessTokens(db, rows.map((r) => ({ jti: r.access_token_jti, expiresAt: r.access_token_expires_at })))
}

/** Revokes every token of a family, and the access tokens they issued that have not expired. */
export async function revokeFamily (db: Db, familyId: string): Promise<void> {
  await db.transaction().execute(async (trx) => { await revokeRefreshTokens(trx, { familyId }) })
}

/**
 * Revokes every refresh token of the user, with the access tokens they issued (a password set or
 * removed). Runs in the caller's transaction.
 */
export async function revokeRefreshTokensOfUser (db: Db, userId: string): Promise<void> {
  await revokeRefreshTokens(db, { userId })
}

/** Revokes the refresh-token families a user gave a client (consent withdrawn). */
export async function revokeFamiliesOf (db: Db, userId: string, clientId: string): Promise<void> {
  await db.transaction().execute(async (trx) => { await revokeRefreshTokens(trx, { userId, clientId }) })
}

/**
 * The scope of a client's refresh token that is still usable (neither used nor revoked); undefined
 * otherwise, so that a replayed token always reaches useRefreshToken and revokes its family.
 */
export async function liveRefreshTokenScope (db: Db, orgId: string, clientId: string, token: string): Promise<string | undefined> {
  if (!looksOpaque(token)) return undefined
  const row = await db.selectFrom('refresh_tokens').select('scope')
    .where('token_hash', '=', hashOpaque(token)).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .where('used_at', 'is', null).where('revoked_at', 'is', null)
    .executeTakeFirst()
  return row?.scope
}

/** Finds the family of a client's refresh token (for RFC 7009 revocation); undefined when not the client's. */
export async function familyOfToken (db: Db, orgId: string, clientId: string, token: string): Promise<string | undefined> {
  if (!looksOpaque(token)) return undefined
  const row = await db.selectFrom('refresh_tokens').select('family_id')
    .where('token_hash', '=', hashOpaque(token)).where('organization_id', '=', orgId).where('client_id', '=', clientId)
    .executeTakeFirst()
  return row?.family_id
}

/** Adds access tokens to the revocation list (those already expired need no entry). */
export async function revokeAccessTokens (db: Db, tokens: Array<{ jti: string, expiresAt: Date }>): Promise<void> {
  const live = tokens.filter((t) => t.expiresAt.getTime() > Date.now())
  if (live.length === 0) return
  await db.insertInto('revoked_tokens').values(live.map((t) => ({ jti: t.jti, expires_at: t.expiresAt })))
    .onConflict((oc) => oc.column('jti').doNothing()).execute()
}
