import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as authorizations from '../registry/client-authorizations.js'
import { createClientAuthorization, deleteClientAuthorization } from '../services/client-authorizations.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, conflict, notFound } from './responses.js'
import { answerRef, Done, IdParams, IdString, listAnswer, Timestamp } from './schemas.js'

const AUTHORIZATION_EXAMPLE = {
  id: EXAMPLE.clientAuthorizationId,
  organization_id: EXAMPLE.orgId,
  client_id: EXAMPLE.clientId,
  entity_type: 'group',
  entity_id: EXAMPLE.groupId,
  created_at: EXAMPLE.created
}

const EntityType = Type.Union([Type.Literal('user'), Type.Literal('group')])
const Id = IdString()

/** A client authorization: lists a user, or a group's members, for a client with `whitelist_enabled`. */
export const ClientAuthorizationBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  client_id: Type.String(),
  entity_type: EntityType,
  entity_id: Type.String(),
  created_at: Timestamp
}, { $id: 'ClientAuthorization', title: 'ClientAuthorization', examples: [AUTHORIZATION_EXAMPLE] })

const ClientAuthorizationCreate = Type.Object({
  client_id: Id,
  entity_type: EntityType,
  entity_id: Id
}, { additionalProperties: false, examples: [{ client_id: EXAMPLE.clientId, entity_type: 'user', entity_id: EXAMPLE.userId }] })

const ClientAuthorizationQuery = Type.Object({
  page: Type.Optional(Type.Integer({ description: 'Page number, from 1; clamped.' })),
  per_page: Type.Optional(Type.Integer({ description: 'Page size, clamped to 1..1000; default 100.' })),
  client_id: Type.Optional(Id),
  entity_type: Type.Optional(EntityType),
  entity_id: Type.Optional(Id)
})

/** The "listed users" of clients, by user or by group: admins manage them. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  app.addSchema(ClientAuthorizationBody)

  app.get('/client_authorizations', {
    preHandler: admin,
    schema: {
      tags: ['client_authorizations'],
      summary: 'List client authorizations',
      operationId: 'listClientAuthorizations',
      description: 'A page of client authorizations, oldest first; filter by `client_id`, `entity_type` and `entity_id`.',
      querystring: ClientAuthorizationQuery,
      response: { 200: listAnswer(ClientAuthorizationBody, 'A page of client authorizations.', [AUTHORIZATION_EXAMPLE]), 403: AdminRequired }
    }
  }, async (request, reply) => {
    const { rows, total } = await authorizations.listClientAuthorizations(ctx.adminDb, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/client_authorizations', {
    preHandler: admin,
    schema: {
      tags: ['client_authorizations'],
      summary: 'List a user or a group on a client',
      operationId: 'createClientAuthorization',
      description: 'The client and the user or group must belong to the organization (otherwise 422 naming the field); a duplicate is a 409.',
      body: ClientAuthorizationCreate,
      response: {
        201: answerRef(ClientAuthorizationBody, 'The client authorization, created.', { ...AUTHORIZATION_EXAMPLE, entity_type: 'user', entity_id: EXAMPLE.userId }),
        403: AdminRequired,
        409: conflict('This user or group is already listed for this client.', 'this user is already authorized for this client', 'entity_id')
      }
    }
  }, async (request, reply) => {
    const created = await createClientAuthorization(ctx.db, auditSourceOf(request), request.body)
    return reply.status(201).send(created)
  })

  app.get('/client_authorizations/:id', {
    preHandler: admin,
    schema: {
      tags: ['client_authorizations'],
      summary: 'Get a client authorization',
      operationId: 'getClientAuthorization',
      description: 'One client authorization of the caller\'s organization, by id.',
      params: IdParams,
      response: { 200: answerRef(ClientAuthorizationBody, 'The client authorization.', AUTHORIZATION_EXAMPLE), 403: AdminRequired, 404: notFound('client authorization') }
    }
  }, async (request) => authorizations.getClientAuthorization(ctx.db, callerOf(request).organizationId, request.params.id))

  app.delete('/client_authorizations/:id', {
    preHandler: admin,
    schema: {
      tags: ['client_authorizations'],
      summary: 'Delete a client authorization',
      operationId: 'deleteClientAuthorization',
      description: 'The user or group is no longer listed for the client; with `whitelist_enabled`, its token requests are refused from the next one on.',
      params: IdParams,
      response: { 204: Done('Deleted.'), 403: AdminRequired, 404: notFound('client authorization') }
    }
  }, async (request, reply) => {
    await deleteClientAuthorization(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
