// The token endpoint's policy: the users × keys matrix (docs/aoc-compatibility.md §7) and the scope rules (§4).
// Pure on purpose: data in, decision out, no I/O and no imports, so every rule is a table row in
// its test. The caller looks up the facts (user, client, nodes) and maps a refusal to an OAuthError.

/** Which key verified the assertion's signature: the user's own, the client's global key, or none. */
export type VerifiedBy = 'user' | 'global' | 'none'

/** What the policy needs to know about the requesting client. */
export interface PolicyClient {
  jwtGrantEnabled: boolean
  /** true: "only listed users" */
  whitelistEnabled: boolean
  /** the client has a global key (`public_key` set) */
  hasGlobalKey: boolean
  adminNodeTokenRetrievalEnabled: boolean
}

/** What the policy needs to know about the token's subject. */
export interface PolicyUser {
  isAdmin: boolean
  deactivated: boolean
  /** listed directly or through a group */
  listed: boolean
  hasOwnKey: boolean
}

/** One token request, as facts the caller has already looked up. */
export interface PolicyInput {
  /** jwt-bearer checks jwtGrantEnabled and verifiedBy; the others skip the key rules (the browser flow signs the user in) */
  grant: 'jwt-bearer' | 'authorization_code' | 'refresh_token'
  client: PolicyClient
  user: PolicyUser
  /** ignored for non-jwt grants */
  verifiedBy: VerifiedBy
  /** raw space-separated string from the request; undefined or '' means the default 'user:all' */
  requestedScope: string | undefined
  ownerAccess: boolean
  /** access keys of the org's nodes named by node.<access_key>:… scopes in the request that exist (the caller looks them up) */
  knownNodeAccessKeys: ReadonlySet<string>
  /** lifetimes in seconds */
  ttl: { admin: number, user: number }
}

/**
 * Which rule refused, as a stable code: what the explain route answers an admin
 * (GET /clients/{id}/access, oauth/explain.ts), where the token endpoint's description stays vague.
 */
export type RefusalRule =
  | 'jwt_grant_disabled' | 'user_deactivated' | 'user_not_listed' | 'no_key_verified' | 'no_global_key' | 'no_user_key'
  | 'scope_too_long' | 'too_many_scopes' | 'unknown_scope' | 'admin_scope_not_admin' | 'unknown_node'
  | 'owner_access_required' | 'admin_node_tokens_disabled'

/** The policy's answer: the scopes granted with their lifetime, or a refusal (`reason` is for the log only; `rule` for the explain route). */
export type PolicyDecision =
  | { ok: true, scopes: string[], scope: string, ttl: number, admin: boolean }
  | { ok: false, error: 'unauthorized_client' | 'invalid_grant' | 'invalid_scope', description: string, reason: string, rule: RefusalRule }

/** The scope granted when the request names none. */
export const DEFAULT_SCOPE = 'user:all'

/** Scopes only organization administrators may get. */
export const ADMIN_SCOPES: ReadonlySet<string> = new Set(['admin:all', 'admin-user:all', 'admin-user:all+user:all'])

/**
 * The one description of every refusal of the subject (unknown or deactivated user, unlisted user,
 * no accepted key), so the answer never tells which; an administrator learns which from the explain
 * route. It ends with the hint ascli shows on invalid_grant (docs/aoc-compatibility.md §6).
 */
export const SUBJECT_REFUSED =
  "the assertion's subject is unknown, not allowed for this client, or not signed with an accepted key " +
  '(an organization administrator can see why with GET /api/v1/clients/{id}/access); check your public key in your user profile'

/** A JWT-bearer request through a client that may not use the grant: what the caller is told. */
export const JWT_GRANT_DISABLED = 'this client may not use the JWT bearer grant: an administrator can set jwt_grant_enabled on it'

/** Longest scope string and most distinct scopes accepted in one request. */
export const MAX_SCOPE_LENGTH = 1024
export const MAX_SCOPES = 20

const PLAIN_SCOPES: ReadonlySet<string> = new Set([DEFAULT_SCOPE, 'self', ...ADMIN_SCOPES])
/** The scopes a request may name, for the description of an unknown one. */
const KNOWN_SCOPES = [...PLAIN_SCOPES, 'node.<access_key>:user:all', 'node.<access_key>:admin:all'].join(', ')
const NODE_SCOPE = /^node\.([A-Za-z0-9._-]{1,128}):(user|admin):all$/

type Parsed = { kind: 'plain', scope: string } | { kind: 'node', scope: string, accessKey: string, admin: boolean }

function splitScopes (raw: string): string[] {
  return [...new Set(raw.split(' ').filter((s) => s !== ''))]
}

function parseScope (scope: string): Parsed | undefined {
  if (PLAIN_SCOPES.has(scope)) return { kind: 'plain', scope }
  const m = NODE_SCOPE.exec(scope)
  if (m) return { kind: 'node', scope, accessKey: m[1]!, admin: m[2] === 'admin' }
  return undefined
}

/** A scope quoted for an error_description, whose allowed characters are narrower than a request's. */
export function quoteScope (scope: string): string {
  const safe = scope.replace(/[^\x20-\x21\x23-\x26\x28-\x5b\x5d-\x7e]/g, '?')
  return `'${safe.length > 64 ? `${safe.slice(0, 64)}...` : safe}'`
}

/** node.<access_key>:… scopes in a raw scope string, for the caller to look up */
export function nodeAccessKeysIn (scope: string | undefined): string[] {
  // An oversized request is refused by decide() anyway; the caller need not query for it.
  if (scope === undefined || scope.length > MAX_SCOPE_LENGTH) return []
  const scopes = splitScopes(scope)
  if (scopes.length > MAX_SCOPES) return []
  const keys = new Set<string>()
  for (const s of scopes) {
    const parsed = parseScope(s)
    if (parsed?.kind === 'node') keys.add(parsed.accessKey)
  }
  return [...keys]
}

function refuseSubject (rule: RefusalRule, reason: string): PolicyDecision {
  return { ok: false, error: 'invalid_grant', description: SUBJECT_REFUSED, reason, rule }
}

function refuseScope (rule: RefusalRule, description: string, reason: string = description): PolicyDecision {
  return { ok: false, error: 'invalid_scope', description, reason, rule }
}

const UNKNOWN_NODE = 'no node of this organization has that access key'

/** Who may have a token, signed with which key (§7); undefined when the subject is allowed. */
function subjectRule (input: PolicyInput): PolicyDecision | undefined {
  const { grant, client, user, verifiedBy } = input
  if (user.deactivated) return refuseSubject('user_deactivated', 'user is deactivated')
  if (client.whitelistEnabled && !user.listed) return refuseSubject('user_not_listed', 'user is not listed for this client')
  if (grant !== 'jwt-bearer') return undefined
  if (verifiedBy === 'none') return refuseSubject('no_key_verified', 'no accepted key verified the assertion')
  if (verifiedBy === 'global' && !client.hasGlobalKey) return refuseSubject('no_global_key', 'verified by a global key but the client has none')
  if (verifiedBy === 'user' && !user.hasOwnKey) return refuseSubject('no_user_key', 'verified by a user key but the user has none')
  return undefined
}

/** The scope rules (§4); the refusal, or undefined when every scope may be granted. */
function scopeRule (input: PolicyInput, parsed: Parsed[]): PolicyDecision | undefined {
  const { client, user } = input
  for (const p of parsed) {
    if (p.kind === 'plain') {
      if (ADMIN_SCOPES.has(p.scope) && !user.isAdmin) {
        return refuseScope('admin_scope_not_admin', `scope ${quoteScope(p.scope)} is for organization administrators only: ask for ${DEFAULT_SCOPE}`, `non-admin asked for ${p.scope}`)
      }
      continue
    }
    if (!p.admin) {
      if (!input.knownNodeAccessKeys.has(p.accessKey)) return refuseScope('unknown_node', `scope ${quoteScope(p.scope)}: ${UNKNOWN_NODE}`)
      continue
    }
    if (!input.ownerAccess) return refuseScope('owner_access_required', `scope ${quoteScope(p.scope)} requires owner_access=true`)
    if (!user.isAdmin) return refuseScope('admin_scope_not_admin', `scope ${quoteScope(p.scope)} is for organization administrators only: ask for node.<access_key>:user:all`, `non-admin asked for ${p.scope}`)
    if (!client.adminNodeTokenRetrievalEnabled) {
      return refuseScope('admin_node_tokens_disabled', `scope ${quoteScope(p.scope)}: this client may not retrieve admin node tokens (an administrator can set admin_node_token_retrieval_enabled on it)`, 'admin_node_token_retrieval_enabled is false')
    }
    if (!input.knownNodeAccessKeys.has(p.accessKey)) return refuseScope('unknown_node', `scope ${quoteScope(p.scope)}: ${UNKNOWN_NODE}`)
  }
  return undefined
}

/** Decides a token request: the first rule that fails answers, else the granted scopes and lifetime. */
export function decide (input: PolicyInput): PolicyDecision {
  if (input.grant === 'jwt-bearer' && !input.client.jwtGrantEnabled) {
    return { ok: false, error: 'unauthorized_client', description: JWT_GRANT_DISABLED, reason: 'jwt_grant_enabled is false', rule: 'jwt_grant_disabled' }
  }
  const subject = subjectRule(input)
  if (subject) return subject

  const raw = input.requestedScope ?? ''
  if (raw.length > MAX_SCOPE_LENGTH) return refuseScope('scope_too_long', `scope is longer than ${MAX_SCOPE_LENGTH} characters: ask for fewer scopes`)
  const requested = splitScopes(raw)
  if (requested.length > MAX_SCOPES) return refuseScope('too_many_scopes', `more than ${MAX_SCOPES} scopes: ask for ${MAX_SCOPES} at most`)
  if (requested.length === 0) requested.push(DEFAULT_SCOPE)
  const parsed: Parsed[] = []
  for (const s of requested) {
    const p = parseScope(s)
    if (!p) return refuseScope('unknown_scope', `unknown scope ${quoteScope(s)}: the scopes are ${KNOWN_SCOPES}`)
    parsed.push(p)
  }
  const refused = scopeRule(input, parsed)
  if (refused) return refused

  const admin = parsed.some((p) => p.kind === 'plain' ? ADMIN_SCOPES.has(p.scope) : p.admin)
  return { ok: true, scopes: requested, scope: requested.join(' '), ttl: admin ? input.ttl.admin : input.ttl.user, admin }
}
