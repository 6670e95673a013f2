import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin, requireCredentialPower } from '../plugins/auth.js'
import * as clients from '../registry/clients.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, conflict, forbidden, notFound } from './responses.js'
import { answer, answerRef, Done, IdParams, ListQuery, listAnswer, PemString, Timestamp } from './schemas.js'
import * as service from '../services/clients.js'

const AuthMethod = Type.Union(clients.TOKEN_ENDPOINT_AUTH_METHODS.map((m) => Type.Literal(m)), {
  description: 'RFC 7591; default `client_secret_basic`. It and `client_secret_post` mean the same here: a confidential client ' +
    'with a secret, sent by HTTP Basic or in the body. `none`: a public client, without a secret (the browser flow then needs PKCE). ' +
    'Fixed at creation.'
})

const UriList = (what: string) => Type.Array(Type.String({ maxLength: 2048 }), { maxItems: 100, description: what })

const ClientFields = {
  id: Type.String({ description: 'Also the OAuth client_id.' }),
  organization_id: Type.String(),
  name: Type.String(),
  redirect_uris: Type.Array(Type.String()),
  origins: Type.Array(Type.String()),
  explicit_authorization_required: Type.Boolean(),
  jwt_grant_enabled: Type.Boolean(),
  admin_node_token_retrieval_enabled: Type.Boolean(),
  public_key: Type.Union([Type.String(), Type.Null()]),
  whitelist_enabled: Type.Boolean(),
  token_endpoint_auth_method: AuthMethod,
  creator_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp
}

const CLIENT_EXAMPLE = {
  id: EXAMPLE.clientId,
  organization_id: EXAMPLE.orgId,
  name: 'Nightly ingest',
  redirect_uris: ['https://ingest.example.com/oauth/callback'],
  origins: [],
  explicit_authorization_required: true,
  jwt_grant_enabled: true,
  admin_node_token_retrieval_enabled: false,
  public_key: null,
  whitelist_enabled: true,
  token_endpoint_auth_method: 'client_secret_basic',
  creator_id: EXAMPLE.adminId,
  created_at: EXAMPLE.created,
  updated_at: EXAMPLE.updated
}
const CLIENT_WITH_SECRET_EXAMPLE = { ...CLIENT_EXAMPLE, secret: EXAMPLE.clientSecret }

/** A client as lists answer it: never its secret. */
export const ClientBody = Type.Object(ClientFields, { $id: 'Client', title: 'Client', examples: [CLIENT_EXAMPLE] })

/** A client with its secret (base64url; null for a public client): answered on create and on GET by id. */
export const ClientWithSecretBody = Type.Object({
  ...ClientFields,
  secret: Type.Union([Type.String(), Type.Null()], { description: 'base64url, 43 characters; null for a public client (`token_endpoint_auth_method` `none`).' })
}, { $id: 'ClientWithSecret', title: 'ClientWithSecret', examples: [CLIENT_WITH_SECRET_EXAMPLE] })

const Writable = {
  redirect_uris: Type.Optional(UriList('Exact-match redirect URIs: https, or http on 127.0.0.1, [::1] or localhost; no fragment.')),
  origins: Type.Optional(UriList('Browser origins allowed by CORS: scheme, host and port only.')),
  explicit_authorization_required: Type.Optional(Type.Boolean()),
  jwt_grant_enabled: Type.Optional(Type.Boolean()),
  admin_node_token_retrieval_enabled: Type.Optional(Type.Boolean()),
  public_key: Type.Optional(Type.Union([PemString, Type.Null()], { description: 'The global key; null or "" removes it.' })),
  whitelist_enabled: Type.Optional(Type.Boolean({ description: 'true: only listed users (client_authorizations); false: all users.' })),
  // Writable on update only so that a client that sends back what it read gets a 204; another value is a 422.
  token_endpoint_auth_method: Type.Optional(AuthMethod)
}

const Name = Type.String({ minLength: 1, maxLength: 256, pattern: '\\S' })
const ClientCreate = Type.Object({ name: Name, ...Writable }, {
  additionalProperties: false,
  examples: [{ name: CLIENT_EXAMPLE.name, redirect_uris: CLIENT_EXAMPLE.redirect_uris, jwt_grant_enabled: true, whitelist_enabled: true }]
})
// ascli's change of a client: the JWT grant and a global key at once.
const ClientUpdate = Type.Object({ name: Type.Optional(Name), ...Writable }, {
  additionalProperties: false,
  examples: [{ jwt_grant_enabled: true, public_key: EXAMPLE.publicKey }]
})
const SecretBody = Type.Object({ secret: Type.String({ description: 'The new secret, base64url.' }) })

const nameTaken = conflict('A client with this name already exists in the organization.', 'a client with this name already exists in the organization', 'name')
const credentialRefusal = 'setting `public_key` (the global key, a credential) needs a token with scope `user:all` or an admin scope that was not given to a third-party client through consent'

/** API clients of the org: admins register, read (secret included), change and delete them. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  app.addSchema(ClientBody)
  app.addSchema(ClientWithSecretBody)

  app.get('/clients', {
    preHandler: admin,
    schema: {
      tags: ['clients'],
      summary: 'List clients',
      operationId: 'listClients',
      description: 'Secrets are never listed; `GET /clients/{id}` shows one.',
      querystring: ListQuery,
      response: { 200: listAnswer(ClientBody, 'A page of clients, without their secrets.', [CLIENT_EXAMPLE]), 403: AdminRequired }
    }
  }, async (request, reply) => {
    const { rows, total } = await clients.listClients(ctx.adminDb, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/clients', {
    preHandler: admin,
    schema: {
      tags: ['clients'],
      summary: 'Register a client',
      operationId: 'createClient',
      description: 'Answers the whole client with its new `secret` (none for `token_endpoint_auth_method` `none`, a public client). ' +
        'Defaults as AoC has them: `explicit_authorization_required` true, the other flags false, no redirect URIs, origins or global key.',
      body: ClientCreate,
      response: {
        201: answerRef(ClientWithSecretBody, 'The client, registered, with its secret.', CLIENT_WITH_SECRET_EXAMPLE),
        403: forbidden(`The token is not an organization administrator's, or ${credentialRefusal}.`, 'this needs an organization administrator\'s token with scope admin:all'),
        409: nameTaken
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    // The global key signs assertions for any eligible user: a credential (docs/security.md).
    if ('public_key' in request.body) requireCredentialPower(caller)
    const created = await service.createClient(ctx.db, ctx.box, auditSourceOf(request), request.body, caller.userId)
    return reply.status(201).send(created)
  })

  app.get('/clients/:id', {
    preHandler: admin,
    schema: {
      tags: ['clients'],
      summary: 'Get a client, with its secret',
      operationId: 'getClient',
      description: 'The secret is answered here as AoC does; each read of it is an audit event (`client.secret_read`).',
      params: IdParams,
      response: { 200: answerRef(ClientWithSecretBody, 'The client, with its secret.', CLIENT_WITH_SECRET_EXAMPLE), 403: AdminRequired, 404: notFound('client') }
    }
  }, async (request) => service.readClientWithSecret(ctx.db, ctx.box, auditSourceOf(request), request.params.id))

  app.put('/clients/:id', {
    preHandler: admin,
    schema: {
      tags: ['clients'],
      summary: 'Update a client',
      operationId: 'updateClient',
      description: 'Only the fields sent change. A new `public_key` is the only global key from the very next request. ' +
        '`token_endpoint_auth_method` is fixed at creation: the same value is accepted, another is a 422.',
      params: IdParams,
      body: ClientUpdate,
      response: {
        204: Done('Updated.'),
        403: forbidden(`The token is not an organization administrator's, or ${credentialRefusal}.`, 'this needs an organization administrator\'s token with scope admin:all'),
        404: notFound('client'),
        409: nameTaken
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    if ('public_key' in request.body) requireCredentialPower(caller)
    await service.updateClient(ctx.db, auditSourceOf(request), request.params.id, request.body)
    return reply.status(204).send(null)
  })

  app.delete('/clients/:id', {
    preHandler: admin,
    schema: {
      tags: ['clients'],
      summary: 'Delete a client, with its authorizations',
      operationId: 'deleteClient',
      description: 'Tokens issued to the client stop working at once.',
      params: IdParams,
      response: { 204: Done('Deleted.'), 403: AdminRequired, 404: notFound('client') }
    }
  }, async (request, reply) => {
    await service.deleteClient(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })

  app.post('/clients/:id/secret', {
    preHandler: admin,
    schema: {
      tags: ['clients'],
      summary: 'Rotate a client\'s secret',
      operationId: 'rotateClientSecret',
      description: 'Makes a new secret and answers `200 {"secret": "<new>"}`. The old secret stops matching at once; ' +
        'there is no overlap, so update the client\'s configuration right after. A public client has no secret: 409.',
      params: IdParams,
      response: {
        200: answer(SecretBody, 'The new secret.', { secret: EXAMPLE.clientSecret }),
        403: AdminRequired,
        404: notFound('client'),
        409: conflict('The client is public (`token_endpoint_auth_method` `none`): it has no secret.', 'a public client has no secret')
      }
    }
  }, async (request) => ({ secret: await service.rotateClientSecret(ctx.db, ctx.box, auditSourceOf(request), request.params.id) }))
}

export default routes
