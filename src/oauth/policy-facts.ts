import type { AppContext } from '../context.js'
import type { Client, Organization } from '../db/schema.js'
import { isUserListed } from '../store/client-authorizations.js'
import { existingAccessKeys } from '../store/nodes.js'
import { nodeAccessKeysIn, type PolicyClient } from './policy.js'

// The facts the pure policy needs, looked up the same way for every grant.

/** The client's flags as the policy reads them. */
export function policyClientOf (client: Client): PolicyClient {
  return {
    jwtGrantEnabled: client.jwt_grant_enabled,
    whitelistEnabled: client.whitelist_enabled,
    hasGlobalKey: client.public_key !== null,
    adminNodeTokenRetrievalEnabled: client.admin_node_token_retrieval_enabled
  }
}

/**
 * Whether the user is listed for the client (asked only when the client keeps a list), and which
 * node access keys named by the scope exist in the org; both at once.
 */
export async function listingAndNodes (
  ctx: Pick<AppContext, 'db'>, org: Organization, client: Client, userId: string, requestedScope: string | undefined
): Promise<{ listed: boolean, knownNodeAccessKeys: Set<string> }> {
  const wantedNodes = nodeAccessKeysIn(requestedScope)
  const [listed, nodes] = await Promise.all([
    client.whitelist_enabled ? isUserListed(ctx.db, org.id, client.id, userId) : Promise.resolve(false),
    existingAccessKeys(ctx.db, org.id, wantedNodes)
  ])
  return { listed, knownNodeAccessKeys: new Set(nodes) }
}

/** Token lifetimes as configured. */
export function ttlsOf (ctx: Pick<AppContext, 'config'>): { admin: number, user: number } {
  return { admin: ctx.config.adminTokenTtl, user: ctx.config.userTokenTtl }
}
