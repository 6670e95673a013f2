import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { identifyClient, type SecretRequirement } from './client-auth.js'
import { InvalidRequest, UnsupportedGrantType } from './errors.js'
import { readForm } from './form.js'
import { AUTHORIZATION_CODE, authorizationCodeGrant } from './grants/authorization-code.js'
import { JWT_BEARER, jwtBearerGrant } from './grants/jwt-bearer.js'
import { REFRESH_TOKEN, refreshTokenGrant } from './grants/refresh-token.js'
import type { GrantContext, TokenResponse } from './grants/types.js'

type Grant = (g: GrantContext) => Promise<TokenResponse>

/** The grants this server supports, by grant_type, with what each asks of the client's secret. */
export const GRANTS: Record<string, { grant: Grant, requireSecret: SecretRequirement }> = {
  [JWT_BEARER]: { grant: jwtBearerGrant, requireSecret: 'optional' },
  // These two check the secret themselves: required, unless the client is public.
  [AUTHORIZATION_CODE]: { grant: authorizationCodeGrant, requireSecret: 'optional' },
  [REFRESH_TOKEN]: { grant: refreshTokenGrant, requireSecret: 'optional' }
}

/**
 * `POST <oauth base>/token` as a pipeline: read the form, identify the client, check the grant
 * type, and hand over to the grant, which validates, decides and issues.
 */
export async function handleTokenRequest (
  ctx: AppContext, orgName: string, request: FastifyRequest, countForClient: (clientId: string) => Promise<void> = async () => {}
): Promise<TokenResponse> {
  const form = readForm(request)
  const grantType = form.grant_type
  if (!grantType) throw new InvalidRequest('missing \'grant_type\'')
  // Own properties only: 'constructor' or '__proto__' must not find Object's.
  const entry = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined
  const { org, client, secretVerified } = await identifyClient(ctx, orgName, request.headers, form, entry?.requireSecret ?? 'optional')
  if (!entry) throw new UnsupportedGrantType(`grant_type '${grantType.slice(0, 100)}' is not supported`)
  let counted: Promise<void> | undefined
  const clientProven = () => (counted ??= countForClient(client.id))
  if (secretVerified) await clientProven()
  return await entry.grant({ ctx, org, client, secretVerified, form, log: request.log, clientProven })
}
