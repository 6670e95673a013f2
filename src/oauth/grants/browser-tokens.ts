import { isPublicClient } from '../../registry/clients.js'
import type { PolicyDecision } from '../policy.js'
import { issueRefreshToken } from '../refresh-tokens.js'
import type { DecidedUser } from '../user-decision.js'
import { issueGrantToken } from './issue.js'
import type { GrantContext, TokenResponse } from './types.js'

type Granted = Extract<PolicyDecision, { ok: true }>

/**
 * The tokens of the browser-flow grants: an access token, and a refresh token unless the grant
 * is admin-scoped (as in AoC). A rotation passes its family, the family's end and the presented
 * token's scope; a code exchange starts a family.
 */
export async function issueBrowserTokens (
  g: GrantContext, user: DecidedUser, decision: Granted, family?: { id: string, expiresAt: Date, scope: string }
): Promise<{ response: TokenResponse, jti: string, expiresAt: Date, familyId: string | undefined }> {
  const { ctx, org, client } = g
  const issued = await issueGrantToken(g, family ? 'refresh_token' : 'authorization_code', user, decision.scope, decision.ttl)
  const expiresAt = new Date(issued.exp * 1000)
  const response: TokenResponse = { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn, scope: decision.scope }
  if (decision.admin) return { response, jti: issued.jti, expiresAt, familyId: undefined }
  const refresh = await issueRefreshToken(ctx.db, {
    familyId: family?.id,
    orgId: org.id,
    clientId: client.id,
    userId: user.id,
    // RFC 6749 §6: a rotated refresh token keeps the scope of the one presented; only the access token narrows.
    scope: family?.scope ?? decision.scope,
    familyExpiresAt: family?.expiresAt ?? new Date(Date.now() + ctx.config.refreshTokenTtl * 1000),
    idleTtl: ctx.config.refreshTokenIdleTtl,
    accessTokenJti: issued.jti,
    accessTokenExpiresAt: expiresAt
  })
  response.refresh_token = refresh.token
  return { response, jti: issued.jti, expiresAt, familyId: refresh.familyId }
}

/** Whether the client proved itself as its kind requires: the secret, or nothing for a public client. */
export function clientProofMissing (g: GrantContext): boolean {
  return !isPublicClient(g.client) && !g.secretVerified
}
