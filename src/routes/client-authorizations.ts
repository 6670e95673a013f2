import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as authorizations from '../registry/client-authorizations.js'
import { createClientAuthorization, deleteClientAuthorization } from '../services/client-authorizations.js'
import { errorResponses, IdParams, IdString, NoContent, Timestamp, TotalCountHeader } from './schemas.js'

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
}, { $id: 'ClientAuthorization', title: 'ClientAuthorization' })

const ClientAuthorizationCreate = Type.Object({
  client_id: Id,
  entity_type: EntityType,
  entity_id: Id
}, { additionalProperties: false })

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
      querystring: ClientAuthorizationQuery,
      response: { 200: { type: 'array', items: Type.Ref(ClientAuthorizationBody), headers: TotalCountHeader }, ...errorResponses(401, 403, 422) }
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
      response: { 201: Type.Ref(ClientAuthorizationBody), ...errorResponses(401, 403, 409, 422) }
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
      params: IdParams,
      response: { 200: Type.Ref(ClientAuthorizationBody), ...errorResponses(401, 403, 404) }
    }
  }, async (request) => authorizations.getClientAuthorization(ctx.db, callerOf(request).organizationId, request.params.id))

  app.delete('/client_authorizations/:id', {
    preHandler: admin,
    schema: {
      tags: ['client_authorizations'],
      summary: 'Delete a client authorization',
      operationId: 'deleteClientAuthorization',
      params: IdParams,
      response: { 204: NoContent, ...errorResponses(401, 403, 404) }
    }
  }, async (request, reply) => {
    await deleteClientAuthorization(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
