import type { AppContext } from '../context.js'
import type { Client, Organization } from '../db/schema.js'
import { isUserListed } from '../registry/client-authorizations.js'
import { decide, nodeAccessKeysIn, type PolicyDecision } from './policy.js'

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
  const wantedNodes = nodeAccessKeysIn(requestedScope)
  const [user, listed, nodes] = await Promise.all([
    ctx.db.selectFrom('users').select(['id', 'email', 'organization_admin', 'deactivated'])
      .where('organization_id', '=', org.id).where('id', '=', userId).executeTakeFirst(),
    client.whitelist_enabled ? isUserListed(ctx.db, org.id, client.id, userId) : Promise.resolve(false),
    wantedNodes.length > 0
      ? ctx.db.selectFrom('nodes').select('access_key').where('organization_id', '=', org.id).where('access_key', 'in', wantedNodes).execute()
      : Promise.resolve([])
  ])
  const decision = decide({
    grant,
    client: {
      jwtGrantEnabled: client.jwt_grant_enabled,
      whitelistEnabled: client.whitelist_enabled,
      hasGlobalKey: client.public_key !== null,
      adminNodeTokenRetrievalEnabled: client.admin_node_token_retrieval_enabled
    },
    user: { isAdmin: user?.organization_admin ?? false, deactivated: user?.deactivated ?? true, listed, hasOwnKey: false },
    verifiedBy: 'none',
    requestedScope,
    // owner_access is a token-request parameter of the JWT grant; the browser flow never sets it.
    ownerAccess: false,
    knownNodeAccessKeys: new Set(nodes.map((n) => n.access_key)),
    ttl: { admin: ctx.config.adminTokenTtl, user: ctx.config.userTokenTtl }
  })
  return { decision, user: user && { id: user.id, email: user.email, isAdmin: user.organization_admin } }
}
