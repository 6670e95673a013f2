// What an administrator can change so that a refused token request is allowed: one sentence per
// rule of the policy (oauth/policy.ts RefusalRule), naming the REST call and field. The explain
// route answers with it (GET /clients/{id}/access); the token endpoint never does, since its caller
// must not learn why a subject was refused (docs/security.md).
import { ADMIN_SCOPES, DEFAULT_SCOPE, MAX_SCOPE_LENGTH, MAX_SCOPES, type RefusalRule } from './policy.js'

/** The client and user a fix applies to. */
export interface FixSubject { clientId: string, userId: string }

const SCOPES = [DEFAULT_SCOPE, 'self', ...ADMIN_SCOPES, 'node.<access_key>:user:all', 'node.<access_key>:admin:all'].join(', ')

const FIXES: Record<RefusalRule, (s: FixSubject) => string> = {
  jwt_grant_disabled: (s) => `Turn on the JWT bearer grant for this client: PUT /api/v1/clients/${s.clientId} with "jwt_grant_enabled": true.`,
  user_deactivated: (s) => `Reactivate the user: PUT /api/v1/users/${s.userId} with "deactivated": false.`,
  user_not_listed: (s) => 'This client gives tokens to listed users only: list the user (POST /api/v1/client_authorizations with ' +
    `"client_id": "${s.clientId}", "entity_type": "user", "entity_id": "${s.userId}"), add the user to a listed group, ` +
    `or open the client to all users (PUT /api/v1/clients/${s.clientId} with "whitelist_enabled": false).`,
  no_key_verified: () => "Sign the assertion with the user's own private key or, where the client has one, the client's global key.",
  no_global_key: (s) => `The client has no global key: set one (PUT /api/v1/clients/${s.clientId} with "public_key"), or sign with the user's own key.`,
  no_user_key: (s) => `The user has no public key: set one (PUT /api/v1/users/${s.userId} with "public_key", or the user in their profile), ` +
    "or sign with the client's global key.",
  scope_too_long: () => `Ask for at most ${MAX_SCOPES} scopes in at most ${MAX_SCOPE_LENGTH} characters.`,
  too_many_scopes: () => `Ask for at most ${MAX_SCOPES} scopes in at most ${MAX_SCOPE_LENGTH} characters.`,
  unknown_scope: () => `Ask only for scopes the server knows: ${SCOPES}.`,
  admin_scope_not_admin: (s) => `Only organization administrators get admin scopes: make the user one (PUT /api/v1/users/${s.userId} with ` +
    `"organization_admin": true), or ask for ${DEFAULT_SCOPE}.`,
  unknown_node: () => 'No node of this organization has the access key the scope names: register the node (POST /api/v1/nodes) or correct the scope.',
  owner_access_required: () => 'Admin node scopes (node.<access_key>:admin:all) need owner_access=true in the token request.',
  admin_node_tokens_disabled: (s) => `Allow admin node tokens for this client: PUT /api/v1/clients/${s.clientId} with "admin_node_token_retrieval_enabled": true.`
}

/** The sentence for `rule`. */
export function fixFor (rule: RefusalRule, subject: FixSubject): string {
  return FIXES[rule](subject)
}
