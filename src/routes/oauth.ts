import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { METADATA_ROUTE, OAUTH_ORG_ROUTE } from '../paths.js'
import { NotFoundError } from '../errors.js'
import { identifyClient, type SecretRequirement } from '../oauth/client-auth.js'
import { InvalidRequest, OAuthError } from '../oauth/errors.js'
import { grantLabel, rateLimitStoreErrors, tokenErrors, tokensIssued } from '../metrics.js'
import { readForm } from '../oauth/form.js'
import { introspect, revoke } from '../oauth/introspection.js'
import { authorizationServerMetadata } from '../oauth/metadata.js'
import { GRANTS } from '../oauth/grants/index.js'
import { handleTokenRequest } from '../oauth/token-endpoint.js'
import { registerClientCors } from '../plugins/client-cors.js'
import { isOAuthPath } from '../plugins/oauth-errors.js'
import { rateLimitStoreLog, tokenRateLimit } from '../plugins/token-rate-limit.js'
import { OrgParams } from './schemas.js'
import { findOrganizationByName } from '../registry/organizations.js'

const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.String() }, { $id: 'OAuthError', title: 'OAuthError' })

/** The client's credentials in the form, when it does not use HTTP Basic (RFC 6749 §2.3.1). */
const FormClientCredentials = {
  client_id: Type.Optional(Type.String({ description: 'The client, when HTTP Basic does not name it.' })),
  client_secret: Type.Optional(Type.String({ description: 'The client\'s secret, when not sent by HTTP Basic (client_secret_post).' }))
}

/** The token form: one shape per grant of the grant list, told apart by `grant_type`. */
const TokenForm = Type.Union(GRANTS.map((g) => Type.Object({
  grant_type: Type.Literal(g.grantType),
  ...g.params,
  ...FormClientCredentials
}, { title: `${g.grantType} token request`, description: g.description, additionalProperties: true })))

const TokenBody = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
  refresh_token: Type.Optional(Type.String())
}, { $id: 'TokenResponse', title: 'TokenResponse' })

const TokenOnlyForm = Type.Object({
  token: Type.String(),
  token_type_hint: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  client_secret: Type.Optional(Type.String())
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

const oauthErrors = { 400: Type.Ref(OAuthErrorBody), 401: Type.Ref(OAuthErrorBody), 429: Type.Ref(OAuthErrorBody) }

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
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: TokenForm,
      response: { 200: Type.Ref(TokenBody), ...oauthErrors }
    },
    // Counted here, so that a refusal before the handler (the address's rate limit) counts too.
    onResponse: async (request, reply) => {
      if (reply.statusCode === 200) tokensIssued.inc({ grant: grantLabel(grantTypeOf(request)) })
    },
    onError: async (request, _reply, err) => {
      tokenErrors.inc({ grant: grantLabel(grantTypeOf(request)), error: err instanceof OAuthError ? err.error : 'invalid_request' })
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
      description: 'Needs the client\'s secret. `active` is false for an expired, revoked, malformed or foreign token, or one issued to another client.',
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: TokenOnlyForm,
      response: { 200: Type.Ref(IntrospectionBody), ...oauthErrors }
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
      description: 'Needs the client\'s secret; a public client sends its `client_id` alone. Answers 200 whether or not the token was known; only the client\'s own tokens are revoked.',
      consumes: ['application/x-www-form-urlencoded'],
      params: OrgParams,
      body: TokenOnlyForm,
      response: { 200: Type.Null({ description: 'Revoked, or nothing to revoke' }), ...oauthErrors }
    }
  }, async (request, reply) => {
    const { form, org, client } = await authenticated(request, request.params.org, 'required-unless-public')
    if (!form.token) throw new InvalidRequest('missing \'token\'')
    const done = await revoke(ctx, org, client, form.token)
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
      params: OrgParams,
      response: { 200: Type.Object({ issuer: Type.String() }, { additionalProperties: true }) }
    }
  }, async (request) => {
    const org = await findOrganizationByName(ctx.db, request.params.org)
    if (!org) throw new NotFoundError('organization')
    return authorizationServerMetadata(ctx.config, org.name)
  })
}

export default routes
