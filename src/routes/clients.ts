import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin, requireCredentialPower } from '../plugins/auth.js'
import * as clients from '../registry/clients.js'
import { errorResponses, IdParams, ListQuery, NoContent, PemString, Timestamp, TotalCountHeader } from './schemas.js'
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

/** A client as lists answer it: never its secret. */
export const ClientBody = Type.Object(ClientFields, { $id: 'Client', title: 'Client' })

/** A client with its secret (base64url; null for a public client): answered on create and on GET by id. */
export const ClientWithSecretBody = Type.Object({ ...ClientFields, secret: Type.Union([Type.String(), Type.Null()]) }, { $id: 'ClientWithSecret', title: 'ClientWithSecret' })

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
const ClientCreate = Type.Object({ name: Name, ...Writable }, { additionalProperties: false })
const ClientUpdate = Type.Object({ name: Type.Optional(Name), ...Writable }, { additionalProperties: false })
const SecretBody = Type.Object({ secret: Type.String() })

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
      response: { 200: { type: 'array', items: Type.Ref(ClientBody), headers: TotalCountHeader }, ...errorResponses(401, 403, 422) }
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
      body: ClientCreate,
      response: { 201: Type.Ref(ClientWithSecretBody), ...errorResponses(401, 403, 409, 422) }
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
      params: IdParams,
      response: { 200: Type.Ref(ClientWithSecretBody), ...errorResponses(401, 403, 404) }
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
      response: { 204: NoContent, ...errorResponses(401, 403, 404, 409, 422) }
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
      response: { 204: NoContent, ...errorResponses(401, 403, 404) }
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
      response: { 200: SecretBody, ...errorResponses(401, 403, 404, 409) }
    }
  }, async (request) => ({ secret: await service.rotateClientSecret(ctx.db, ctx.box, auditSourceOf(request), request.params.id) }))
}

export default routes
