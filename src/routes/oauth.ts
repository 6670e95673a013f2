import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { METADATA_ROUTE, OAUTH_ORG_ROUTE } from '../paths.js'
import { NotFoundError } from '../errors.js'
import { identifyClient, type SecretRequirement } from '../oauth/client-auth.js'
import { InvalidRequest, OAuthError } from '../oauth/errors.js'
import { grantLabel, rateLimitStoreErrors, tokenErrors, tokensIssued } from '../metrics.js'
import { readForm } from '../oauth/form.js'
import { introspect, revoke } from '../oauth/introspection.js'
import { authorizationServerMetadata } from '../oauth/metadata.js'
import { GRANTS } from '../oauth/grants/index.js'
import { JWT_BEARER } from '../oauth/grants/jwt-bearer.js'
import { handleTokenRequest } from '../oauth/token-endpoint.js'
import { registerClientCors } from '../plugins/client-cors.js'
import { isOAuthPath } from '../plugins/oauth-errors.js'
import { rateLimitStoreLog, tokenRateLimit } from '../plugins/token-rate-limit.js'
import { EXAMPLE } from './examples.js'
import { OAuthErrorBody, oauthEndpointErrors, oauthError, OAuthInvalidRequest, ServiceUnavailable, InvalidParameter, OrganizationNotFound } from './responses.js'
import { answer, answerRef, OrgParams } from './schemas.js'
import { findOrganizationByName } from '../registry/organizations.js'

/** The client's credentials in the form, when it does not use HTTP Basic (RFC 6749 §2.3.1). */
const FormClientCredentials = {
  client_id: Type.Optional(Type.String({ description: 'The client, when HTTP Basic does not name it; if both do, the same id.' })),
  client_secret: Type.Optional(Type.String({ description: 'The client\'s secret, when not sent by HTTP Basic (client_secret_post); never both ways.' }))
}

/** The token form: one shape per grant of the grant list, told apart by `grant_type`. */
const TokenForm = Type.Union(GRANTS.map((g) => Type.Object({
  grant_type: Type.Literal(g.grantType),
  ...g.params,
  ...FormClientCredentials
}, { title: `${g.grantType} token request`, description: g.description, additionalProperties: true, examples: [g.example] })), {
  description: 'One form per grant, told apart by `grant_type`. Each parameter is given once; credentials never go in the URL query.',
  'x-examples': Object.fromEntries(GRANTS.map((g) => [g.grantType.split(':').pop(), { summary: g.description.split(' (')[0], value: g.example }]))
})

const TokenBody = Type.Object({
  access_token: Type.String({ description: 'A JWT signed by a key of the JWKS; `exp - iat` equals `expires_in`.' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds: ADMIN_TOKEN_TTL for an admin scope, USER_TOKEN_TTL otherwise.' }),
  scope: Type.String(),
  refresh_token: Type.Optional(Type.String({ description: 'Only from the authorization code and refresh token grants.' }))
}, { $id: 'TokenResponse', title: 'TokenResponse', examples: [{ access_token: EXAMPLE.accessToken, token_type: 'bearer', expires_in: 3600, scope: 'user:all' }] })

const TokenOnlyForm = Type.Object({
  token: Type.String({ description: 'An access token or a refresh token.' }),
  token_type_hint: Type.Optional(Type.String({ description: '`access_token` or `refresh_token`: only a hint; the token\'s form tells (RFC 7009 §2.1).' })),
  ...FormClientCredentials
}, { additionalProperties: true })

const IntrospectionBody = Type.Object({
  active: Type.Boolean(),
  scope: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  sub: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  iss: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String()),
  user_id: Type.Optional(Type.String()),
  organization_id: Type.Optional(Type.String())
}, { $id: 'Introspection', title: 'Introspection' })

const INTROSPECTION_EXAMPLE = {
  active: true,
  scope: 'user:all',
  client_id: EXAMPLE.clientId,
  username: EXAMPLE.email,
  token_type: 'Bearer',
  exp: 1796136951,
  iat: 1796133351,
  sub: EXAMPLE.email,
  aud: 'https://auth.example.com/api/v1',
  iss: 'https://auth.example.com/api/v1/oauth2/acme',
  jti: '5f0c8e2a-7b1d-4c39-a6e4-2d9f1b8c0e57',
  user_id: EXAMPLE.userId,
  organization_id: EXAMPLE.orgId
}

/** The client's credentials, by HTTP Basic or in the form (the empty requirement: the form's `client_id` and `client_secret`). */
const CLIENT_SECURITY: Array<Record<string, string[]>> = [{ clientSecretBasic: [] }, {}]

/** Our own parsing and errors apply to these forms: ajv must not turn a repeated parameter into a 400 first. */
const acceptAll = () => () => true

/** The client id a request names, for the CORS check, which runs before the client is authenticated. */
function claimedClientId (request: FastifyRequest): string {
  const body = request.body as Record<string, unknown> | undefined
  if (typeof body?.client_id === 'string') return body.client_id.slice(0, 128)
  const auth = request.headers.authorization
  if (auth?.startsWith('Basic ')) return Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0]!.slice(0, 128)
  return '-'
}

/** The grant_type a token request names, if it names one. */
function grantTypeOf (request: FastifyRequest): string | undefined {
  const value = (request.body as Record<string, unknown> | undefined)?.grant_type
  return typeof value === 'string' ? value : undefined
}

/** The OAuth endpoints of an organization: token, introspect, revoke, and RFC 8414 metadata. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  app.addSchema(OAuthErrorBody)
  app.addSchema(TokenBody)
  app.addSchema(IntrospectionBody)

  // Per source address, counted on every request; per client, counted once the client has proved
  // itself (grants call `clientProven`). Neither a client nor a host can starve the others.
  // With REDIS_URL every instance counts in the same Redis keys; while Redis is away the limits
  // fail open (a counter out of reach must not refuse every token request).
  const redis = ctx.redis
  const limits = await tokenRateLimit(app, {
    perMinute: ctx.config.tokenRateLimitPerMinute,
    ...(redis && {
      store: { redis: redis.client, nameSpace: `${ctx.config.redisKeyPrefix}rate:` },
      onStoreError: (err) => {
        rateLimitStoreErrors.inc()
        const { code, message } = err as { code?: unknown, message?: unknown }
        rateLimitStoreLog.warn(app.log, { redis_error: { code, message } }, 'a rate-limit count failed in Redis: the limits fail open until it answers')
      }
    })
  })
  const limitHooks = [limits.byAddress]
  const countForClient = limits.byClient
  // A preflight costs a query (which client lists the origin?): it counts against its address too.
  // Before the CORS plugin, whose `OPTIONS *` route must get this hook.
  app.addHook('onRequest', async (request) => {
    if (request.method === 'OPTIONS' && isOAuthPath(request.url)) await limits.byAddress(request)
  })
  await registerClientCors(app, ctx, claimedClientId)

  app.post(`${OAUTH_ORG_ROUTE}/token`, {
    bodyLimit: 16 * 1024,
    preHandler: limitHooks,
    validatorCompiler: acceptAll,
    schema: {
      tags: ['oauth'],
      summary: 'Token endpoint',
      operationId: 'requestToken',
      description: `Grants: ${GRANTS.map((g) => '`' + g.grantType + '`').join(', ')}. The client is identified by HTTP Basic, or by \`client_id\` (and \`client_secret\`) in the body; a secret that is sent must be right. The JWT bearer grant may identify it by \`client_id\` alone (the assertion is its proof).`,
      security: CLIENT_SECURITY,
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: TokenForm,
      response: {
        200: answerRef(TokenBody, 'The access token (`Cache-Control: no-store`).', { access_token: EXAMPLE.accessToken, token_type: 'bearer', expires_in: 3600, scope: 'user:all' }),
        400: oauthError('`invalid_request` (no `grant_type`, a missing parameter, a malformed or oversized assertion, or a form that cannot be ' +
          'read, as for introspection), `unsupported_grant_type`, `invalid_grant` (an assertion refused: signature, `exp`/`nbf`/`iat`, `aud`, `iss`, `org`, ' +
          'a replayed `jti`, an unknown or unlisted user; a code or refresh token unknown, expired, used or not this client\'s), ' +
          '`unauthorized_client` (the client may not use this grant) or `invalid_scope` (docs/aoc-compatibility.md §8).',
        { error: 'invalid_grant', error_description: 'the assertion is expired' }),
        ...oauthEndpointErrors
      }
    },
    // Counted here, so that a refusal before the handler (the address's rate limit) counts too.
    onResponse: async (request, reply) => {
      if (reply.statusCode === 200) tokensIssued.inc({ grant: grantLabel(grantTypeOf(request)) })
    },
    onError: async (request, _reply, err) => {
      tokenErrors.inc({ grant: grantLabel(grantTypeOf(request)), error: err instanceof OAuthError ? err.error : 'invalid_request' })
    },
    // A code or refresh token used twice revokes what it issued (RFC 6749 §4.1.2, RFC 9700 §4.14.2):
    // this instance's own token checks must see that at once. The JWT bearer grant revokes nothing.
    onSend: async (request) => {
      if (grantTypeOf(request) !== JWT_BEARER) ctx.tokenFacts.localWrite()
    }
  }, async (request, reply) => {
    const response = await handleTokenRequest(ctx, request.params.org, request, async (clientId) => { await countForClient(request, clientId) })
    return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(response)
  })

  /** Both endpoints need the client's secret (docs/aoc-compatibility.md §8); revocation also takes a public client by its id alone (RFC 7009 §2.1). */
  const authenticated = async (request: FastifyRequest, orgName: string, requirement: SecretRequirement) => {
    const form = readForm(request)
    const identified = await identifyClient(ctx, orgName, request.headers, form, requirement)
    if (identified.secretVerified) await countForClient(request, identified.client.id)
    return { form, ...identified }
  }

  app.post(`${OAUTH_ORG_ROUTE}/introspect`, {
    bodyLimit: 16 * 1024,
    preHandler: limitHooks,
    validatorCompiler: acceptAll,
    schema: {
      tags: ['oauth'],
      summary: 'Token introspection (RFC 7662)',
      operationId: 'introspectToken',
      description: 'Needs the client\'s secret, by HTTP Basic or in the form. `active` is false for an expired, revoked, malformed or foreign token, or one issued to another client.',
      security: CLIENT_SECURITY,
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: { ...TokenOnlyForm, examples: [{ token: EXAMPLE.accessToken, token_type_hint: 'access_token' }] },
      response: {
        200: answerRef(IntrospectionBody, 'What the token is (RFC 7662 §2.2); only `active: false` for a token that is not active here.', INTROSPECTION_EXAMPLE),
        400: OAuthInvalidRequest,
        ...oauthEndpointErrors
      }
    }
  }, async (request, reply) => {
    const { form, org, client } = await authenticated(request, request.params.org, 'required')
    return reply.header('Cache-Control', 'no-store').send(await introspect(ctx, org, client, form.token))
  })

  app.post(`${OAUTH_ORG_ROUTE}/revoke`, {
    bodyLimit: 16 * 1024,
    preHandler: limitHooks,
    validatorCompiler: acceptAll,
    schema: {
      tags: ['oauth'],
      summary: 'Token revocation (RFC 7009)',
      operationId: 'revokeToken',
      description: 'Needs the client\'s secret, by HTTP Basic or in the form; a public client sends its `client_id` alone. Answers 200 whether or not the token was known; only the client\'s own tokens are revoked. A refresh token takes its whole family with it, and the access tokens the family issued (RFC 7009 §2.1).',
      security: CLIENT_SECURITY,
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: { ...TokenOnlyForm, examples: [{ token: EXAMPLE.refreshToken, token_type_hint: 'refresh_token' }] },
      response: {
        200: Type.Null({ description: 'Revoked, or nothing to revoke: an empty body.' }),
        400: oauthError('`invalid_request`: as for introspection, or no `token`.', { error: 'invalid_request', error_description: 'missing \'token\'' }),
        ...oauthEndpointErrors
      }
    }
  }, async (request, reply) => {
    const { form, org, client } = await authenticated(request, request.params.org, 'required-unless-public')
    if (!form.token) throw new InvalidRequest('missing \'token\': send the access or refresh token to revoke')
    const done = await revoke(ctx, org, client, form.token)
    if (done) ctx.tokenFacts.localWrite()
    request.log.info({ revoked: done }, 'revocation request')
    // RFC 7009 §2.2: a 200 whose content the client ignores; none is sent, as the document says (not JSON
    // `null`, which the route's Null schema would serialize `send(null)` to). The typed reply wants a payload.
    return (reply as FastifyReply).status(200).header('Cache-Control', 'no-store').send()
  })

  app.get(METADATA_ROUTE, {
    schema: {
      tags: ['oauth'],
      summary: 'Authorization server metadata (RFC 8414)',
      operationId: 'getAuthorizationServerMetadata',
      description: 'The organization\'s endpoints, grants and methods, so that a client can configure itself. Errors here are REST errors, not OAuth ones.',
      security: [],
      params: OrgParams,
      response: {
        200: answer(Type.Object({ issuer: Type.String() }, { additionalProperties: true }), 'The metadata (RFC 8414 §3.2).',
          authorizationServerMetadata({ publicUrl: 'https://auth.example.com' } as Config, EXAMPLE.org)),
        404: OrganizationNotFound,
        422: InvalidParameter,
        503: ServiceUnavailable
      }
    }
  }, async (request) => {
    const org = await findOrganizationByName(ctx.db, request.params.org)
    if (!org) throw new NotFoundError('organization')
    return authorizationServerMetadata(ctx.config, org.name)
  })
}

export default routes
