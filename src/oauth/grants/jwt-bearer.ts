import { Type } from '@sinclair/typebox'
import { checkAssertionClaims, DEFAULT_ASSERTION_RULES, readAssertion, verifyAssertionSignature, type AssertionRules, type CandidateKey } from '../assertion.js'
import { InvalidGrant, InvalidScope, UnauthorizedClient } from '../errors.js'
import type { AppContext } from '../../context.js'
import type { Client, Organization } from '../../db/schema.js'
import type { GrantUser } from '../../store/users.js'
import { decide, JWT_GRANT_DISABLED, SUBJECT_REFUSED, type PolicyDecision, type VerifiedBy } from '../policy.js'
import { listingAndNodes, policyClientOf, ttlsOf } from '../policy-facts.js'
import { issuerFor } from '../tokens.js'
import { issueGrantToken } from './issue.js'
import type { GrantContext, GrantDefinition, TokenResponse } from './types.js'

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer' as const

/**
 * An RSA-2048 public key whose private half was thrown away when it was made, checked against when
 * the subject is unknown or has no key of its own. A constant, so the first unknown subject does not stall the event loop
 * generating one.
 */
const STAND_IN_KEY = [
  '-----BEGIN PUBLIC KEY-----',
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtywlNyRvhYLsIA3r4fIR',
  's8ctVewHCNCEqqGss/pp5jTjoXn0dOhfDsn1kmy158c8Phkja/VVfM2/f8JQ0PUd',
  'MHoxyKISsXgXem9HwczHWh+eo82pnTbF9iHklHB9zUrkgjq1WQYLb4hcL/gvIjPH',
  'GhS2cLFw4jJO7T1+dUNckeudUAMB2bdR3rpfRr06ObXPrVJBgHDJE1Oa1Z37kzYf',
  'bThN8Y4lFl62EkJdOcTgpNlcl7SIT6Jkw3jtF3z6fG3sF3khoKIbtReYeSV4SMNG',
  '+xSK6S505ErkTxinzyptOzaqXuZXTt5+JLbofYECXXCxtxIpKP6ydIMZNO6R6NJI',
  'FQIDAQAB',
  '-----END PUBLIC KEY-----'
].join('\n')

/** The audiences an org accepts: the configured ones (AoC's by default), its token URL and its issuer. */
export function assertionRules (g: GrantContext): AssertionRules {
  const issuer = issuerFor(g.ctx.config.publicUrl, g.org.name)
  return {
    audiences: [...g.ctx.config.assertionAudiences, `${issuer}/token`, issuer],
    leeway: g.ctx.config.assertionLeeway,
    maxFutureExp: g.ctx.config.assertionMaxLifetime,
    requireJti: g.ctx.config.requireJti,
    maxLength: DEFAULT_ASSERTION_RULES.maxLength
  }
}

/** What a decision reads: the database and the configured lifetimes. */
export type DecisionContext = Pick<AppContext, 'db' | 'config'>

/**
 * The users × keys policy and the scope rules for an assertion about `user` that `verifiedBy`'s key
 * verified: the facts looked up, then the pure decide(). The token endpoint and the explain route
 * (oauth/explain.ts) both call this, so they cannot disagree.
 */
export async function jwtBearerDecision (
  ctx: DecisionContext, org: Organization, client: Client, user: GrantUser, verifiedBy: VerifiedBy, scope: string | undefined, ownerAccess: boolean
): Promise<PolicyDecision> {
  const { listed, knownNodeAccessKeys } = await listingAndNodes(ctx, org, client, user.id, scope)
  return decide({
    grant: 'jwt-bearer',
    client: policyClientOf(client),
    user: { isAdmin: user.organization_admin, deactivated: user.deactivated, listed, hasOwnKey: user.public_key !== null },
    verifiedBy,
    requestedScope: scope,
    ownerAccess,
    knownNodeAccessKeys,
    ttl: ttlsOf(ctx)
  })
}

/**
 * RFC 7523 §2.1: read and check the assertion, find its subject, verify the signature with the
 * user's key or the client's global key, apply the users × keys policy and the scope rules,
 * record the jti, issue the token.
 */
export async function jwtBearerGrant (g: GrantContext): Promise<TokenResponse> {
  const { ctx, org, client, form } = g
  if (!client.jwt_grant_enabled) throw new UnauthorizedClient(JWT_GRANT_DISABLED, 'jwt_grant_enabled is false')
  const rules = assertionRules(g)
  const assertion = readAssertion(form.assertion, rules)
  checkAssertionClaims(assertion, { clientId: client.id, orgName: org.name }, rules)

  const sub = assertion.claims.sub
  const user = await ctx.cache.user(org.id, sub)
  // The same signature work whether the subject exists or not, and a refusal before any lookup that
  // depends on the subject (listing, nodes): the time taken tells nothing about the e-mail
  // (docs/security.md). A user without a key is tried against the stand-in, which verifies nothing.
  const candidates: CandidateKey[] = [{ kind: 'user', pem: user?.public_key ?? STAND_IN_KEY }]
  if (client.public_key) candidates.push({ kind: 'global', pem: client.public_key })
  const verifiedBy = await verifyAssertionSignature(form.assertion!, assertion.header.alg, candidates)
  if (verifiedBy !== 'none') await g.clientProven()
  if (!user) throw new InvalidGrant(SUBJECT_REFUSED, 'unknown user')
  if (verifiedBy === 'none') throw new InvalidGrant(SUBJECT_REFUSED, 'no accepted key verified the assertion')

  const decision = await jwtBearerDecision(ctx, org, client, user, verifiedBy, form.scope, form.owner_access === 'true')
  if (!decision.ok) {
    if (decision.error === 'unauthorized_client') throw new UnauthorizedClient(decision.description, decision.reason)
    if (decision.error === 'invalid_scope') throw new InvalidScope(decision.description, decision.reason)
    throw new InvalidGrant(decision.description, decision.reason)
  }

  // After the signature: an unauthenticated caller must not be able to burn someone's jti.
  const { jti, exp } = assertion.claims
  if (jti !== undefined) {
    const expiresAt = new Date((exp + ctx.config.assertionLeeway) * 1000)
    if (!await ctx.jtis.record(client.id, jti, expiresAt)) throw new InvalidGrant('this assertion was already used: make a new one with a new jti', 'jti replay')
  }

  const issued = await issueGrantToken(g, JWT_BEARER, user, decision.scope, decision.ttl)
  return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn, scope: decision.scope }
}

/** RFC 7523 §2.1, as ascli and AoC's other clients use it (docs/aoc-compatibility.md §2, §3). */
export const jwtBearer: GrantDefinition = {
  grantType: JWT_BEARER,
  description: 'JWT bearer grant (RFC 7523): an assertion signed with the user\'s key or the client\'s global key. The client may be identified by client_id alone: the assertion is its proof.',
  params: {
    assertion: Type.String({ description: 'The signed JWT (RFC 7523 §2.1), at most 8 KiB: iss the client id, sub the user\'s e-mail or id, aud a token URL (docs/aoc-compatibility.md §3), exp; optionally nbf, iat, jti, org.' }),
    scope: Type.Optional(Type.String({ description: 'Space-separated; default user:all.' })),
    owner_access: Type.Optional(Type.String({ description: '"true" for admin-scoped node tokens (node.<access_key>:admin:all).' }))
  },
  // What ascli sends, in its order (docs/aoc-compatibility.md §2); the assertion cut short.
  example: {
    client_id: 'Fq3nWv8tYb2LcZr5KpXe0A',
    scope: 'user:all',
    grant_type: JWT_BEARER,
    assertion: 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJGcTNuV3Y4dFliMkxjWnI1S3BYZTBBIiwic3ViIjoiamFuZS5kb2VAZXhhbXBsZS5jb20ifQ.Zm9vYmFy'
  },
  requireSecret: 'optional',
  handle: jwtBearerGrant
}
