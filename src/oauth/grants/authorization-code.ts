import { Type } from '@sinclair/typebox'
import { redeemAuthorizationCode, recordIssued } from '../authorization-codes.js'
import { InvalidClient, InvalidGrant, InvalidRequest } from '../errors.js'
import { hashOpaque } from '../opaque.js'
import { verifierMatches } from '../pkce.js'
import { decideStillAllowed } from '../user-decision.js'
import { clientProofMissing, issueBrowserTokens } from './browser-tokens.js'
import type { GrantContext, GrantDefinition, TokenResponse } from './types.js'

export const AUTHORIZATION_CODE = 'authorization_code' as const

const CODE_REFUSED: Record<string, string> = {
  unknown: 'the authorization code is not valid for this client',
  expired: 'the authorization code has expired: sign in again',
  reused: 'authorization code already used'
}

/**
 * RFC 6749 §4.1.3 with RFC 7636: a client with a secret must present it; a public client relies on
 * PKCE. The code is used up before anything else is checked, so a wrong verifier or redirect URI
 * also ends it: a stolen code gets one try.
 */
export async function authorizationCodeGrant (g: GrantContext): Promise<TokenResponse> {
  const { ctx, org, client, form } = g
  if (clientProofMissing(g)) {
    throw new InvalidClient('code exchange without the client secret', false, 'client authentication with the client secret is required for this grant: send it by HTTP Basic, or as client_secret in the body')
  }
  if (!form.code) throw new InvalidRequest("missing 'code': send the code of the authorization response")
  const redeemed = await redeemAuthorizationCode(ctx.db, org.id, client.id, form.code)
  if (!redeemed.ok) throw new InvalidGrant(CODE_REFUSED[redeemed.reason]!, `code ${redeemed.reason}`)
  const code = redeemed.row

  if (form.redirect_uri !== undefined ? form.redirect_uri !== code.redirect_uri : code.redirect_uri_given) {
    throw new InvalidGrant("redirect uri doesn't match authorized redirect uri", 'redirect_uri differs from the authorization request')
  }
  if (code.code_challenge !== null) {
    if (form.code_verifier === undefined) throw new InvalidGrant('code_verifier is required: the authorization request used PKCE')
    if (!verifierMatches(code.code_challenge, form.code_verifier)) throw new InvalidGrant('code_verifier does not match the code_challenge')
  } else if (form.code_verifier !== undefined) {
    // A verifier for a code issued without a challenge means someone swapped codes (PKCE downgrade).
    throw new InvalidGrant('code_verifier sent, but the authorization request had no code_challenge')
  }

  const { decision, user } = await decideStillAllowed(ctx, org, client, code.user_id, 'authorization_code', code.scope)
  const issued = await issueBrowserTokens(g, user, decision)
  if (!await recordIssued(ctx.db, hashOpaque(form.code), { jti: issued.jti, expiresAt: issued.expiresAt, familyId: issued.familyId })) {
    throw new InvalidGrant(CODE_REFUSED.reused!, 'code reused during its first exchange')
  }
  return issued.response
}

/** RFC 6749 §4.1.3 with PKCE (RFC 7636): the code the browser flow's redirect carried. */
export const authorizationCode: GrantDefinition = {
  grantType: AUTHORIZATION_CODE,
  description: 'Authorization code grant (RFC 6749 §4.1.3, PKCE S256): a client with a secret must send it (Basic or body); a public client sends client_id and code_verifier.',
  params: {
    code: Type.String({ description: 'The code from the authorization response; single-use, valid AUTH_CODE_TTL seconds.' }),
    redirect_uri: Type.Optional(Type.String({ description: 'Required when the authorization request named one, and then equal to it.' })),
    code_verifier: Type.Optional(Type.String({ description: 'PKCE verifier (RFC 7636 §4.5); required when the authorization request sent a code_challenge.' }))
  },
  // A public client's exchange (RFC 7636 §4.5), the verifier of RFC 7636 appendix B.
  example: {
    grant_type: AUTHORIZATION_CODE,
    code: 'Lq4Wz9Tm2Rx7Vb1Np6Yk3Hc8Jd5Fs0Ge_Xu-Ri4Oa9C',
    redirect_uri: 'https://ingest.example.com/oauth/callback',
    code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    client_id: 'Fq3nWv8tYb2LcZr5KpXe0A'
  },
  // The grant checks the secret itself: required, unless the client is public.
  requireSecret: 'optional',
  handle: authorizationCodeGrant
}
