import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as groups from '../registry/groups.js'
import { createGroup, deleteGroup, updateGroup } from '../services/groups.js'
import { errorResponses, IdParams, ListQuery, NoContent, Timestamp, TotalCountHeader } from './schemas.js'

/** A group as answered by the API. */
export const GroupBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'Group', title: 'Group' })

const Name = Type.String({ minLength: 1, maxLength: 256, description: 'Unique in the organization, without case.' })
const Description = Type.String({ maxLength: 4096 })

const GroupCreate = Type.Object({ name: Name, description: Type.Optional(Description) }, { additionalProperties: false })
const GroupUpdate = Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description) }, { additionalProperties: false })

/** Groups: sets of users that a client authorization may list at once. Admins only. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  app.addSchema(GroupBody)

  app.get('/groups', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'List groups',
      operationId: 'listGroups',
      querystring: ListQuery,
      response: { 200: { type: 'array', items: Type.Ref(GroupBody), headers: TotalCountHeader }, ...errorResponses(401, 403, 422) }
    }
  }, async (request, reply) => {
    const { rows, total } = await groups.listGroups(ctx.adminDb, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/groups', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Create a group',
      operationId: 'createGroup',
      body: GroupCreate,
      response: { 201: Type.Ref(GroupBody), ...errorResponses(401, 403, 409, 422) }
    }
  }, async (request, reply) => {
    const created = await createGroup(ctx.db, auditSourceOf(request), request.body)
    return reply.status(201).send(created)
  })

  app.get('/groups/:id', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Get a group',
      operationId: 'getGroup',
      params: IdParams,
      response: { 200: Type.Ref(GroupBody), ...errorResponses(401, 403, 404) }
    }
  }, async (request) => groups.getGroup(ctx.db, callerOf(request).organizationId, request.params.id))

  app.put('/groups/:id', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Update a group',
      operationId: 'updateGroup',
      params: IdParams,
      body: GroupUpdate,
      response: { 204: NoContent, ...errorResponses(401, 403, 404, 409, 422) }
    }
  }, async (request, reply) => {
    await updateGroup(ctx.db, auditSourceOf(request), request.params.id, request.body)
    return reply.status(204).send(null)
  })

  app.delete('/groups/:id', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Delete a group, with its memberships and the client authorizations that list it',
      operationId: 'deleteGroup',
      params: IdParams,
      response: { 204: NoContent, ...errorResponses(401, 403, 404) }
    }
  }, async (request, reply) => {
    await deleteGroup(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
