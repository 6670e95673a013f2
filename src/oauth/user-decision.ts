import type { AppContext } from '../context.js'
import type { Client, Organization } from '../db/schema.js'
import { findDecisionUser } from '../store/users.js'
import { InvalidGrant } from './errors.js'
import { decide, type PolicyDecision } from './policy.js'
import { listingAndNodes, policyClientOf, ttlsOf } from './policy-facts.js'

/** The user facts a browser-flow decision and its token need. */
export interface DecidedUser { id: string, email: string, isAdmin: boolean }

/**
 * The policy's decision for a signed-in user (authorization code and refresh token grants): looks
 * up the user, whether it is listed for the client, and the nodes the scopes name, then asks the
 * pure policy. A user gone from the org is refused like a deactivated one.
 */
export async function decideForUser (
  ctx: AppContext, org: Organization, client: Client, userId: string,
  grant: 'authorization_code' | 'refresh_token', requestedScope: string | undefined
): Promise<{ decision: PolicyDecision, user: DecidedUser | undefined }> {
  const [user, { listed, knownNodeAccessKeys }] = await Promise.all([
    findDecisionUser(ctx.db, org.id, userId),
    listingAndNodes(ctx, org, client, userId, requestedScope)
  ])
  const decision = decide({
    grant,
    client: policyClientOf(client),
    user: { isAdmin: user?.organization_admin ?? false, deactivated: user?.deactivated ?? true, listed, hasOwnKey: false },
    verifiedBy: 'none',
    requestedScope,
    // owner_access is a token-request parameter of the JWT grant; the browser flow never sets it.
    ownerAccess: false,
    knownNodeAccessKeys,
    ttl: ttlsOf(ctx)
  })
  return { decision, user: user && { id: user.id, email: user.email, isAdmin: user.organization_admin } }
}

/**
 * For the token endpoint's browser-flow grants: the decision when the user may still be given the
 * scopes through this client; otherwise `invalid_grant`, as the grant itself is no longer good.
 */
export async function decideStillAllowed (
  ctx: AppContext, org: Organization, client: Client, userId: string,
  grant: 'authorization_code' | 'refresh_token', scope: string
): Promise<{ decision: Extract<PolicyDecision, { ok: true }>, user: DecidedUser }> {
  const { decision, user } = await decideForUser(ctx, org, client, userId, grant, scope)
  if (!decision.ok || !user) {
    throw new InvalidGrant('the user may no longer be given these scopes through this client: sign in again', decision.ok ? 'user gone' : decision.reason)
  }
  return { decision, user }
}
