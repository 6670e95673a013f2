import type { FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { identifyClient } from './client-auth.js'
import { InvalidRequest, UnsupportedGrantType } from './errors.js'
import { readForm } from './form.js'
import { JWT_BEARER, jwtBearerGrant } from './grants/jwt-bearer.js'
import type { GrantContext, TokenResponse } from './grants/types.js'

type Grant = (g: GrantContext) => Promise<TokenResponse>

/** The grants this server supports, by grant_type. */
export const GRANTS: Record<string, { grant: Grant, requireSecret: boolean }> = {
  [JWT_BEARER]: { grant: jwtBearerGrant, requireSecret: false }
}

/**
 * `POST <oauth base>/token` as a pipeline: read the form, identify the client, check the grant
 * type, and hand over to the grant, which validates, decides and issues.
 */
export async function handleTokenRequest (ctx: AppContext, orgName: string, request: FastifyRequest): Promise<TokenResponse> {
  const form = readForm(request)
  const grantType = form.grant_type
  if (!grantType) throw new InvalidRequest('missing \'grant_type\'')
  const entry = GRANTS[grantType]
  const { org, client } = await identifyClient(ctx, orgName, request.headers, form, entry?.requireSecret ?? false)
  if (!entry) throw new UnsupportedGrantType(`grant_type '${grantType.slice(0, 100)}' is not supported`)
  return await entry.grant({ ctx, org, client, form, log: request.log })
}
