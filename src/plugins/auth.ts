import type { FastifyReply, FastifyRequest } from 'fastify'
import { ForbiddenError, UnauthorizedError } from '../errors.js'
import { issuedBeforeCutOff, issuerFor, TokenInvalidError, verifyAccessToken } from '../oauth/tokens.js'
import type { AppContext, Caller } from '../context.js'
import { ADMIN_SCOPES } from '../oauth/policy.js'
import { credentialChangeRefusal } from '../oauth/credential-rule.js'
import { requestAuditSource, type AuditSource } from '../registry/audit-events.js'

/** What a caller is told of a token that does not pass; why goes to the log only. */
const TOKEN_REFUSED = 'the access token is invalid or expired: get a new one from POST /api/v1/oauth2/<org>/token'

/** Grants whose tokens are not delegated whatever the client (docs/security.md); `gty` names the grant. */
const UNDELEGATED_GRANTS: ReadonlySet<string> = new Set(['urn:ietf:params:oauth:grant-type:jwt-bearer', 'cli'])

/**
 * Verifies the Bearer token and checks, on every request, what may have changed since it was
 * issued: revoked, user deleted or deactivated (or issued before its last deactivation), client
 * deleted. So deactivation and revocation take effect at once on every instance, and a
 * reactivation brings no old token back.
 */
export async function authenticate (ctx: AppContext, request: FastifyRequest): Promise<Caller> {
  const header = request.headers.authorization
  const match = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header) : null
  if (!match?.[1]) {
    // A Bearer credential that is not a token's syntax was still a token sent, and refused.
    throw new UnauthorizedError(undefined, header !== undefined && /^Bearer\s+\S/i.test(header))
  }
  let claims
  try {
    claims = await verifyAccessToken(ctx.keys, match[1], ctx.config.accessTokenAudience)
  } catch (err) {
    if (err instanceof TokenInvalidError) {
      request.log.info({ reason: err.reason }, 'access token refused')
      throw new UnauthorizedError(TOKEN_REFUSED, true)
    }
    throw err
  }
  const row = await ctx.tokenFacts.holder({ orgId: claims.organization_id, userId: claims.user_id, clientId: claims.client_id, jti: claims.jti })
  const refuse = (reason: string): never => {
    request.log.info({ reason, jti: claims.jti }, 'access token refused')
    throw new UnauthorizedError(TOKEN_REFUSED, true)
  }
  if (!row || row.org_name === null) return refuse('user or organization gone')
  if (claims.iss !== issuerFor(ctx.config.publicUrl, row.org_name)) return refuse('issuer mismatch')
  if (row.revoked) return refuse('revoked')
  if (row.deactivated) return refuse('user deactivated')
  if (issuedBeforeCutOff(claims.iat, row.tokens_valid_after)) return refuse('issued before the user\'s last deactivation')
  if (row.client_asks_consent === null) return refuse('client gone')
  const scopes = claims.scope.split(' ').filter(Boolean)
  return {
    userId: row.id,
    email: row.email,
    organizationId: row.org_id,
    organizationName: row.org_name,
    isAdmin: row.organization_admin && scopes.some((s) => ADMIN_SCOPES.has(s)),
    clientId: claims.client_id,
    scopes,
    jti: claims.jti,
    exp: claims.exp,
    // The client's flag as it is now: an admin who marks a client third-party takes the power from
    // its earlier tokens at once. A token without `gty` (issued before the claim) counts as browser-issued.
    delegated: row.client_asks_consent && !UNDELEGATED_GRANTS.has(claims.gty ?? '')
  }
}

/**
 * Throws 403 unless the caller's token may set credentials (public keys, passwords): not a token
 * delegated to a third-party client, and not a `self` one (oauth/credential-rule.ts).
 */
export function requireCredentialPower (caller: Caller): void {
  const refusal = credentialChangeRefusal(caller)
  if (refusal) throw new ForbiddenError(refusal)
}

/** Node-scoped tokens are for a node, not for this API. */
function usableForApi (caller: Caller): boolean {
  return caller.scopes.some((s) => !s.startsWith('node.'))
}

/** preHandler: any valid token of a user of the org. */
export function requireUser (ctx: AppContext) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const caller = await authenticate(ctx, request)
    if (!usableForApi(caller)) throw new ForbiddenError('a node-scoped token cannot call this API: get a token with user:all or an admin scope')
    request.caller = caller
  }
}

/** preHandler: an organization administrator's token with an admin scope. */
export function requireAdmin (ctx: AppContext) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const caller = await authenticate(ctx, request)
    if (!caller.isAdmin) throw new ForbiddenError('this needs an organization administrator\'s token with scope admin:all')
    request.caller = caller
  }
}

/** The caller set by requireUser/requireAdmin; routes call it only behind one of them. */
export function callerOf (request: FastifyRequest): Caller {
  if (!request.caller) throw new UnauthorizedError()
  return request.caller
}

/** Who makes a REST change, and from where: the token's user, for the audit trail (registry/audit-events.ts). */
export function auditSourceOf (request: FastifyRequest): AuditSource {
  const caller = callerOf(request)
  return requestAuditSource(request, caller.organizationId, { type: 'user', id: caller.userId, email: caller.email })
}
