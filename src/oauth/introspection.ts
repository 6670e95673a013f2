import type { AppContext } from '../context.js'
import type { Client, Organization } from '../db/schema.js'
import { insertRevocations } from '../store/revoked-tokens.js'
import { familyOfToken, revokeFamily } from './refresh-tokens.js'
import { issuedBeforeCutOff, issuerFor, TokenInvalidError, verifyAccessToken, type AccessTokenClaims } from './tokens.js'

/** RFC 7662 §2.2: an active token's claims, or `{active: false}` and nothing else. */
export type IntrospectionResponse =
  | { active: false }
  | { active: true, scope: string, client_id: string, username: string, token_type: 'Bearer', exp: number, iat: number, sub: string, aud: string, iss: string, jti: string, user_id: string, organization_id: string }

/**
 * The token's claims when it is valid now and belongs to this org and to the asking client; else
 * undefined. Valid now means: signature, audience and expiry, not revoked, and its user still
 * exists, is active and was not deactivated since the token was issued (what the REST API also checks).
 */
export async function activeTokenOf (ctx: AppContext, org: Organization, client: Client, token: string): Promise<AccessTokenClaims | undefined> {
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(ctx.keys, token, ctx.config.accessTokenAudience)
  } catch (err) {
    if (err instanceof TokenInvalidError) return undefined
    throw err
  }
  if (claims.iss !== issuerFor(ctx.config.publicUrl, org.name) || claims.organization_id !== org.id || claims.client_id !== client.id) return undefined
  const row = await ctx.tokenFacts.holder({ orgId: org.id, userId: claims.user_id, clientId: claims.client_id, jti: claims.jti })
  if (!row || row.deactivated || row.revoked || issuedBeforeCutOff(claims.iat, row.tokens_valid_after)) return undefined
  return claims
}

export async function introspect (ctx: AppContext, org: Organization, client: Client, token: string | undefined): Promise<IntrospectionResponse> {
  if (!token) return { active: false }
  const claims = await activeTokenOf(ctx, org, client, token)
  if (!claims) return { active: false }
  return {
    active: true,
    scope: claims.scope,
    client_id: claims.client_id,
    username: claims.sub,
    token_type: 'Bearer',
    exp: claims.exp,
    iat: claims.iat,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    jti: claims.jti,
    user_id: claims.user_id,
    organization_id: claims.organization_id
  }
}

/**
 * RFC 7009: revokes the token when it is this client's; anything else (unknown, malformed,
 * expired, another client's) is ignored, and the caller gets 200 either way. A refresh token takes
 * its whole family with it, and the access tokens the family issued (RFC 7009 §2.1).
 */
export async function revoke (ctx: AppContext, org: Organization, client: Client, token: string): Promise<boolean> {
  // token_type_hint is only a hint (§2.1): the token's form tells, as an access token is always a JWT.
  if (!token.includes('.')) {
    const family = await familyOfToken(ctx.db, org.id, client.id, token)
    if (!family) return false
    await revokeFamily(ctx.db, family)
    return true
  }
  const claims = await activeTokenOf(ctx, org, client, token)
  if (!claims) return false
  await insertRevocations(ctx.db, [{ jti: claims.jti, expiresAt: new Date(claims.exp * 1000) }])
  return true
}
