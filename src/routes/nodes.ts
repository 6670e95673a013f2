import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as nodes from '../registry/nodes.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, conflict, notFound } from './responses.js'
import { answerRef, Done, IdParams, ListQuery, listAnswer, Timestamp } from './schemas.js'
import * as service from '../services/nodes.js'

const NODE_EXAMPLE = {
  id: EXAMPLE.nodeId,
  organization_id: EXAMPLE.orgId,
  name: 'Frankfurt transfer node',
  url: 'https://node-fra.example.com:9092',
  access_key: EXAMPLE.accessKey,
  created_at: EXAMPLE.created,
  updated_at: EXAMPLE.updated
}

/** A node as answered by the API. */
export const NodeBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  name: Type.String(),
  url: Type.String(),
  access_key: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'Node', title: 'Node', examples: [NODE_EXAMPLE] })

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

const NodeCreate = Type.Object(NodeWritable, {
  additionalProperties: false,
  examples: [{ name: NODE_EXAMPLE.name, url: NODE_EXAMPLE.url, access_key: NODE_EXAMPLE.access_key }]
})
const NodeUpdate = Type.Partial(Type.Object(NodeWritable), { additionalProperties: false, examples: [{ url: 'https://node-fra2.example.com:9092' }] })
const accessKeyTaken = conflict('A node with this access key already exists in the organization.', 'a node with this access key already exists in the organization', 'access_key')

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
      description: 'A page of the organization\'s nodes, oldest first; `q` searches names, exact matches first.',
      querystring: ListQuery,
      response: { 200: listAnswer(NodeBody, 'A page of nodes.', [NODE_EXAMPLE]), 403: AdminRequired }
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
      description: 'Token requests name the node by its `access_key` (`node.<access_key>:user:all`).',
      body: NodeCreate,
      response: { 201: answerRef(NodeBody, 'The node, registered.', NODE_EXAMPLE), 403: AdminRequired, 409: accessKeyTaken }
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
      description: 'One node of the caller\'s organization, by id.',
      params: IdParams,
      response: { 200: answerRef(NodeBody, 'The node.', NODE_EXAMPLE), 403: AdminRequired, 404: notFound('node') }
    }
  }, async (request) => nodes.getNode(ctx.db, callerOf(request).organizationId, request.params.id))

  app.put('/nodes/:id', {
    preHandler: admin,
    schema: {
      tags: ['nodes'],
      summary: 'Update a node',
      operationId: 'updateNode',
      description: 'Only the fields sent change. A new `access_key` is what node scopes name from the next token request on.',
      params: IdParams,
      body: NodeUpdate,
      response: { 204: Done('Updated.'), 403: AdminRequired, 404: notFound('node'), 409: accessKeyTaken }
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
      description: 'Token requests for its scopes are refused from then on (`unknown_node`).',
      params: IdParams,
      response: { 204: Done('Deleted.'), 403: AdminRequired, 404: notFound('node') }
    }
  }, async (request, reply) => {
    await service.deleteNode(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
