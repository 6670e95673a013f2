import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as groups from '../registry/groups.js'
import { createGroup, deleteGroup, updateGroup } from '../services/groups.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, conflict, notFound } from './responses.js'
import { answerRef, Done, IdParams, ListQuery, listAnswer, Timestamp } from './schemas.js'

const GROUP_EXAMPLE = {
  id: EXAMPLE.groupId,
  organization_id: EXAMPLE.orgId,
  name: 'Media operations',
  description: 'Editors who send and receive footage',
  created_at: EXAMPLE.created,
  updated_at: EXAMPLE.updated
}

/** A group as answered by the API. */
export const GroupBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'Group', title: 'Group', examples: [GROUP_EXAMPLE] })

const Name = Type.String({ minLength: 1, maxLength: 256, description: 'Unique in the organization, without case.' })
const Description = Type.String({ maxLength: 4096 })

const GroupCreate = Type.Object({ name: Name, description: Type.Optional(Description) }, {
  additionalProperties: false,
  examples: [{ name: GROUP_EXAMPLE.name, description: GROUP_EXAMPLE.description }]
})
const GroupUpdate = Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description) }, {
  additionalProperties: false,
  examples: [{ description: 'Editors and producers who send and receive footage' }]
})
const nameTaken = conflict('A group with this name already exists in the organization (names compare without case).', 'a group with this name already exists in the organization', 'name')

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
      description: 'A page of the organization\'s groups, oldest first; `q` searches names, exact matches first.',
      querystring: ListQuery,
      response: { 200: listAnswer(GroupBody, 'A page of groups.', [GROUP_EXAMPLE]), 403: AdminRequired }
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
      description: 'A group without members; `POST /group_memberships` adds them.',
      body: GroupCreate,
      response: { 201: answerRef(GroupBody, 'The group, created.', GROUP_EXAMPLE), 403: AdminRequired, 409: nameTaken }
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
      description: 'One group of the caller\'s organization, by id.',
      params: IdParams,
      response: { 200: answerRef(GroupBody, 'The group.', GROUP_EXAMPLE), 403: AdminRequired, 404: notFound('group') }
    }
  }, async (request) => groups.getGroup(ctx.db, callerOf(request).organizationId, request.params.id))

  app.put('/groups/:id', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Update a group',
      operationId: 'updateGroup',
      description: 'Only the fields sent change.',
      params: IdParams,
      body: GroupUpdate,
      response: { 204: Done('Updated.'), 403: AdminRequired, 404: notFound('group'), 409: nameTaken }
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
      description: 'Its members are not deleted; users listed for a client only through this group are no longer listed.',
      params: IdParams,
      response: { 204: Done('Deleted.'), 403: AdminRequired, 404: notFound('group') }
    }
  }, async (request, reply) => {
    await deleteGroup(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
