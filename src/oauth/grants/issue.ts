import { issueAccessToken, issuerFor, type IssuedToken, type TokenGrantType } from '../tokens.js'
import type { GrantContext } from './types.js'

/** The access token every grant issues: for this org's user, to the requesting client, marked with its grant. */
export async function issueGrantToken (
  g: GrantContext, grantType: TokenGrantType, user: { id: string, email: string }, scope: string, ttl: number
): Promise<IssuedToken> {
  const { ctx, org, client } = g
  return await issueAccessToken(ctx.keys, {
    issuer: issuerFor(ctx.config.publicUrl, org.name),
    audience: ctx.config.accessTokenAudience,
    email: user.email,
    userId: user.id,
    organizationId: org.id,
    clientId: client.id,
    scope,
    ttl,
    grantType
  })
}
