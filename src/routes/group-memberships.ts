import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import * as memberships from '../registry/group-memberships.js'
import { createMembership, deleteMembership } from '../services/group-memberships.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, conflict, notFound } from './responses.js'
import { answerRef, Done, IdParams, IdString, ListQuery, listAnswer, Timestamp } from './schemas.js'

const MEMBERSHIP_EXAMPLE = {
  id: EXAMPLE.membershipId,
  organization_id: EXAMPLE.orgId,
  group_id: EXAMPLE.groupId,
  member_type: 'user',
  member_id: EXAMPLE.userId,
  created_at: EXAMPLE.created
}

/** A group membership as answered by the API. */
export const GroupMembershipBody = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  group_id: Type.String(),
  member_type: Type.Literal('user'),
  member_id: Type.String(),
  created_at: Timestamp
}, { $id: 'GroupMembership', title: 'GroupMembership', examples: [MEMBERSHIP_EXAMPLE] })

/** An id in a body: shaped as every id here is, so a malformed one is a 422 before any query. */
const RefId = (description: string) => IdString(description)

const MembershipCreate = Type.Object({
  group_id: RefId('A group of the organization.'),
  member_type: Type.Literal('user', { description: 'Only users are members; groups do not nest.' }),
  member_id: RefId('A user of the organization.')
}, { additionalProperties: false, examples: [{ group_id: EXAMPLE.groupId, member_type: 'user', member_id: EXAMPLE.userId }] })

const MembershipQuery = Type.Object({
  page: ListQuery.properties.page,
  per_page: ListQuery.properties.per_page,
  group_id: Type.Optional(Type.String({ maxLength: 64, description: 'Only this group\'s members.' })),
  member_id: Type.Optional(Type.String({ maxLength: 64, description: 'Only this user\'s groups.' }))
})

/** Group memberships: which users are in which group (docs/aoc-compatibility.md §8). Admins only. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  app.addSchema(GroupMembershipBody)

  app.get('/group_memberships', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'List group memberships',
      operationId: 'listGroupMemberships',
      description: 'A page of memberships, oldest first; `group_id` gives a group\'s members, `member_id` a user\'s groups.',
      querystring: MembershipQuery,
      response: { 200: listAnswer(GroupMembershipBody, 'A page of memberships.', [MEMBERSHIP_EXAMPLE]), 403: AdminRequired }
    }
  }, async (request, reply) => {
    const { rows, total } = await memberships.listMemberships(ctx.adminDb, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/group_memberships', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Put a user in a group',
      operationId: 'createGroupMembership',
      description: 'The group and the user must belong to the organization (otherwise 422 naming `group_id` or `member_id`). ' +
        'The user is then listed for every client that lists the group.',
      body: MembershipCreate,
      response: {
        201: answerRef(GroupMembershipBody, 'The membership, created.', MEMBERSHIP_EXAMPLE),
        403: AdminRequired,
        409: conflict('The user is already a member of this group.', 'this user is already a member of this group', 'member_id')
      }
    }
  }, async (request, reply) => {
    const created = await createMembership(ctx.db, auditSourceOf(request), request.body)
    return reply.status(201).send(created)
  })

  app.get('/group_memberships/:id', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Get a group membership',
      operationId: 'getGroupMembership',
      description: 'One membership of the caller\'s organization, by id.',
      params: IdParams,
      response: { 200: answerRef(GroupMembershipBody, 'The membership.', MEMBERSHIP_EXAMPLE), 403: AdminRequired, 404: notFound('group membership') }
    }
  }, async (request) => memberships.getMembership(ctx.db, callerOf(request).organizationId, request.params.id))

  app.delete('/group_memberships/:id', {
    preHandler: admin,
    schema: {
      tags: ['groups'],
      summary: 'Take a user out of a group',
      operationId: 'deleteGroupMembership',
      description: 'The user stays; it is no longer listed for the clients that list only this group.',
      params: IdParams,
      response: { 204: Done('Deleted.'), 403: AdminRequired, 404: notFound('group membership') }
    }
  }, async (request, reply) => {
    await deleteMembership(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
