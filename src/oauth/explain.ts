// "Why can't this user get a token through this client?": what the token endpoint would decide for
// a JWT-bearer request about the user, once signed with the user's own key and once with the
// client's global key. It runs the grant's own decision (grants/jwt-bearer.ts jwtBearerDecision:
// the same lookups, the same pure decide()) on the same rows the token endpoint reads, so the two
// cannot disagree. Read-only; no key or secret is needed or shown.
import type { Client, Organization } from '../db/schema.js'
import { listingOfUser } from '../store/client-authorizations.js'
import { groupNames } from '../store/groups.js'
import type { GrantUser } from '../store/users.js'
import { jwtBearerDecision, type DecisionContext } from './grants/jwt-bearer.js'
import type { PolicyDecision, RefusalRule } from './policy.js'
import { fixFor } from './refusal-fixes.js'

/** The answer for one signing key. */
export type KeyAnswer =
  | { decision: 'allowed', scope: string, scopes: string[], expires_in: number }
  | {
    decision: 'refused'
    /** the OAuth error the token endpoint answers */
    error: 'unauthorized_client' | 'invalid_grant' | 'invalid_scope'
    rule: RefusalRule
    /** the error_description the token endpoint answers (vague on purpose for the subject rules) */
    description: string
    /** what an administrator can change to allow it */
    fix: string
  }

/** How the user is listed for the client. */
export interface Listing {
  /** the client gives tokens to listed users only (`whitelist_enabled`) */
  required: boolean
  /** listed directly or through a group */
  listed: boolean
  directly: boolean
  groups: Array<{ id: string, name: string }>
}

export interface AccessExplanation {
  client_id: string
  user_id: string
  email: string
  scope: string | null
  owner_access: boolean
  listing: Listing
  /** an assertion signed with the user's own key */
  user_key: KeyAnswer
  /** an assertion signed with the client's global key */
  global_key: KeyAnswer
}

function answer (decision: PolicyDecision, client: Client, user: GrantUser): KeyAnswer {
  if (decision.ok) return { decision: 'allowed', scope: decision.scope, scopes: decision.scopes, expires_in: decision.ttl }
  return {
    decision: 'refused',
    error: decision.error,
    rule: decision.rule,
    description: decision.description,
    fix: fixFor(decision.rule, { clientId: client.id, userId: user.id })
  }
}

/** Explains the token endpoint's decision for `user` through `client` with this scope and owner_access. */
export async function explainAccess (
  ctx: DecisionContext, org: Organization, client: Client, user: GrantUser, scope: string | undefined, ownerAccess: boolean
): Promise<AccessExplanation> {
  const [byUserKey, byGlobalKey, listed] = await Promise.all([
    jwtBearerDecision(ctx, org, client, user, 'user', scope, ownerAccess),
    jwtBearerDecision(ctx, org, client, user, 'global', scope, ownerAccess),
    listingOfUser(ctx.db, org.id, client.id, user.id)
  ])
  return {
    client_id: client.id,
    user_id: user.id,
    email: user.email,
    scope: scope ?? null,
    owner_access: ownerAccess,
    listing: {
      required: client.whitelist_enabled,
      listed: listed.direct || listed.groupIds.length > 0,
      directly: listed.direct,
      groups: await groupNames(ctx.db, org.id, listed.groupIds)
    },
    user_key: answer(byUserKey, client, user),
    global_key: answer(byGlobalKey, client, user)
  }
}
