import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as nodes from '../registry/nodes.js'
import { errorResponses, IdParams, ListQuery, NoContent, Timestamp, TotalCountHeader } from './schemas.js'
import * as service from '../services/nodes.js'

/** A node as answered by the API. */
export const NodeBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  name: Type.String(),
  url: Type.String(),
  access_key: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'Node', title: 'Node' })

const NodeWritable = {
  name: Type.String({ minLength: 1, maxLength: 256 }),
  url: Type.String({ maxLength: 2048, description: 'Absolute http or https URL of the node\'s API.' }),
  access_key: Type.String({
    minLength: 1,
    maxLength: 128,
    pattern: nodes.ACCESS_KEY_PATTERN_SOURCE,
    description: 'Unique in the organization; token scopes name the node by it (`node.<access_key>:user:all`). Letters, digits, `.`, `_` and `-`, not only dots.'
  })
}

const NodeCreate = Type.Object(NodeWritable, { additionalProperties: false })
const NodeUpdate = Type.Partial(Type.Object(NodeWritable), { additionalProperties: false })

/** Nodes: the transfer servers that node-scoped tokens are for. Admins only. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  app.addSchema(NodeBody)

  app.get('/nodes', {
    preHandler: admin,
    schema: {
      tags: ['nodes'],
      summary: 'List nodes',
      operationId: 'listNodes',
      querystring: ListQuery,
      response: { 200: { type: 'array', items: Type.Ref(NodeBody), headers: TotalCountHeader }, ...errorResponses(401, 403, 422) }
    }
  }, async (request, reply) => {
    const { rows, total } = await nodes.listNodes(ctx.adminDb, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/nodes', {
    preHandler: admin,
    schema: {
      tags: ['nodes'],
      summary: 'Register a node',
      operationId: 'createNode',
      body: NodeCreate,
      response: { 201: Type.Ref(NodeBody), ...errorResponses(401, 403, 409, 422) }
    }
  }, async (request, reply) => {
    const created = await service.createNode(ctx.db, auditSourceOf(request), request.body)
    return reply.status(201).send(created)
  })

  app.get('/nodes/:id', {
    preHandler: admin,
    schema: {
      tags: ['nodes'],
      summary: 'Get a node',
      operationId: 'getNode',
      params: IdParams,
      response: { 200: Type.Ref(NodeBody), ...errorResponses(401, 403, 404) }
    }
  }, async (request) => nodes.getNode(ctx.db, callerOf(request).organizationId, request.params.id))

  app.put('/nodes/:id', {
    preHandler: admin,
    schema: {
      tags: ['nodes'],
      summary: 'Update a node',
      operationId: 'updateNode',
      params: IdParams,
      body: NodeUpdate,
      response: { 204: NoContent, ...errorResponses(401, 403, 404, 409, 422) }
    }
  }, async (request, reply) => {
    await service.updateNode(ctx.db, auditSourceOf(request), request.params.id, request.body)
    return reply.status(204).send(null)
  })

  app.delete('/nodes/:id', {
    preHandler: admin,
    schema: {
      tags: ['nodes'],
      summary: 'Delete a node',
      operationId: 'deleteNode',
      params: IdParams,
      response: { 204: NoContent, ...errorResponses(401, 403, 404) }
    }
  }, async (request, reply) => {
    await service.deleteNode(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
