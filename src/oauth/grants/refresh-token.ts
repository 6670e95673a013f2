import { Type } from '@sinclair/typebox'
import { InvalidClient, InvalidGrant, InvalidRequest, InvalidScope } from '../errors.js'
import { quoteScope } from '../policy.js'
import { familyRevoked, liveRefreshTokenScope, revokeFamily, useRefreshToken } from '../refresh-tokens.js'
import { decideStillAllowed } from '../user-decision.js'
import { clientProofMissing, issueBrowserTokens } from './browser-tokens.js'
import type { GrantContext, GrantDefinition, TokenResponse } from './types.js'

export const REFRESH_TOKEN = 'refresh_token' as const

const REFUSED: Record<string, string> = {
  unknown: 'the refresh token is not valid for this client',
  revoked: 'the refresh token was revoked: sign in again',
  expired: 'the refresh token has expired: sign in again',
  reused: 'the refresh token was already used; its tokens are revoked: sign in again'
}

/**
 * RFC 6749 §6: rotates the refresh token (the presented one is used up, a new one comes back in the
 * same family) and issues an access token for the same scopes or fewer, never more.
 */
export async function refreshTokenGrant (g: GrantContext): Promise<TokenResponse> {
  const { ctx, org, client, form } = g
  if (clientProofMissing(g)) {
    throw new InvalidClient('refresh without the client secret', false, 'client authentication with the client secret is required for this grant: send it by HTTP Basic, or as client_secret in the body')
  }
  if (!form.refresh_token) throw new InvalidRequest("missing 'refresh_token': send the refresh token of the last token response")
  // The scope is checked before the token is used up: a client that asks too much keeps its token.
  const granted = await liveRefreshTokenScope(ctx.db, org.id, client.id, form.refresh_token)
  let scope: string | undefined
  if (granted !== undefined && form.scope !== undefined && form.scope.trim() !== '') {
    const grantedSet = new Set(granted.split(' '))
    const asked = [...new Set(form.scope.split(' ').filter(Boolean))]
    const wider = asked.find((s) => !grantedSet.has(s))
    if (wider) throw new InvalidScope(`scope ${quoteScope(wider)} was not granted to this refresh token: ask for the same scopes or fewer`)
    scope = asked.join(' ')
  }
  const used = await useRefreshToken(ctx.db, org.id, client.id, form.refresh_token)
  if (!used.ok) throw new InvalidGrant(REFUSED[used.reason]!, `refresh token ${used.reason}`)
  const token = used.row
  scope ??= token.scope
  const { decision, user } = await decideStillAllowed(ctx, org, client, token.user_id, 'refresh_token', scope)
  const issued = await issueBrowserTokens(g, user, decision, { id: token.family_id, expiresAt: token.expires_at, scope: token.scope })
  if (await familyRevoked(ctx.db, token.family_id)) {
    await revokeFamily(ctx.db, token.family_id)
    throw new InvalidGrant(REFUSED.reused!, 'family revoked during the rotation')
  }
  return issued.response
}

/** RFC 6749 §6: a refresh token from the browser flow, rotated at each use. */
export const refreshToken: GrantDefinition = {
  grantType: REFRESH_TOKEN,
  description: 'Refresh token grant (RFC 6749 §6): the token is used up and a new one comes back in the same family; a reused token revokes its family. A client with a secret must send it.',
  params: {
    refresh_token: Type.String({ description: 'The refresh token from the last token response.' }),
    scope: Type.Optional(Type.String({ description: 'Space-separated; the same scopes or fewer, never more. Default: those of the refresh token.' }))
  },
  // As ascli sends it: the client's id and secret in the body (client_secret_post).
  example: {
    grant_type: REFRESH_TOKEN,
    refresh_token: 'Vb7Qk2Lw9Zx4Tm1Rn8Yp3Hc6Jd0Fs5Ge-Au_Ki2Ow7P',
    client_id: 'Fq3nWv8tYb2LcZr5KpXe0A',
    client_secret: 'x7Kp2Wq9Lm4Zt8Rv1Nb6Yc3Hs5Jd0Fg-Ae_Tu2Qw7Io'
  },
  // The grant checks the secret itself: required, unless the client is public.
  requireSecret: 'optional',
  handle: refreshTokenGrant
}
