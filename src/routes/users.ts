import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ForbiddenError } from '../errors.js'
import { callerOf, requireAdmin, requireUser } from '../plugins/auth.js'
import * as users from '../registry/users.js'
import { errorResponses, IdParams, ListQuery, NoContent, PemString, Timestamp, TotalCountHeader } from './schemas.js'

/** A user as answered by the API. */
export const UserBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  organization_admin: Type.Boolean(),
  deactivated: Type.Boolean(),
  public_key: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp
}, { $id: 'User', title: 'User' })

const Email = Type.String({ format: 'email', maxLength: 320 })
const Text = Type.String({ maxLength: 256 })

const UserWritable = {
  name: Type.Optional(Text),
  first_name: Type.Optional(Text),
  last_name: Type.Optional(Text),
  organization_admin: Type.Optional(Type.Boolean()),
  deactivated: Type.Optional(Type.Boolean()),
  public_key: Type.Optional(Type.Union([PemString, Type.Null()]))
}

const UserCreate = Type.Object({ email: Email, ...UserWritable }, { additionalProperties: false })
const UserUpdate = Type.Object({ email: Type.Optional(Email), ...UserWritable }, { additionalProperties: false })

/** Users: admins manage them; a user may set its own `public_key` (ascli's GET /self then PUT). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  const user = requireUser(ctx)

  app.get('/users', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'List users',
      querystring: ListQuery,
      response: { 200: { type: 'array', items: Type.Ref(UserBody), headers: TotalCountHeader }, ...errorResponses(401, 403, 422) }
    }
  }, async (request, reply) => {
    const { rows, total } = await users.listUsers(ctx.db, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/users', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: UserCreate,
      response: { 201: Type.Ref(UserBody), ...errorResponses(401, 403, 409, 422) }
    }
  }, async (request, reply) => {
    const created = await users.createUser(ctx.db, callerOf(request).organizationId, request.body)
    return reply.status(201).send(created)
  })

  app.get('/users/:id', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'Get a user',
      params: IdParams,
      response: { 200: Type.Ref(UserBody), ...errorResponses(401, 403, 404) }
    }
  }, async (request) => users.getUser(ctx.db, callerOf(request).organizationId, request.params.id))

  app.put('/users/:id', {
    preHandler: user,
    schema: {
      tags: ['users'],
      summary: 'Update a user',
      description: 'Admins may change any field. A user may change only its own `public_key`.',
      params: IdParams,
      body: UserUpdate,
      response: { 204: NoContent, ...errorResponses(401, 403, 404, 409, 422) }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    if (!caller.isAdmin) {
      if (request.params.id !== caller.userId) throw new ForbiddenError('only an administrator may change another user')
      const other = Object.keys(request.body).find((k) => k !== 'public_key')
      if (other) throw new ForbiddenError(`only an administrator may set ${other}`)
    }
    await users.updateUser(ctx.db, caller.organizationId, request.params.id, request.body)
    return reply.status(204).send(null)
  })

  app.delete('/users/:id', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'Delete a user, with its memberships and client authorizations',
      params: IdParams,
      response: { 204: NoContent, ...errorResponses(401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    if (request.params.id === caller.userId) throw new ForbiddenError('an administrator cannot delete its own user')
    await users.deleteUser(ctx.db, caller.organizationId, request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
