import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ForbiddenError } from '../errors.js'
import { auditSourceOf, callerOf, requireAdmin, requireCredentialPower, requireUser } from '../plugins/auth.js'
import { checkPasswordRules } from '../registry/password-rules.js'
import { hashPassword } from '../registry/passwords.js'
import * as users from '../registry/users.js'
import { createUser, deleteUser, updateUser } from '../services/users.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, conflict, forbidden, notFound } from './responses.js'
import { answerRef, Done, IdParams, ListQuery, listAnswer, PemString, Timestamp } from './schemas.js'

/** A user as the examples show one. */
export const USER_EXAMPLE = {
  id: EXAMPLE.userId,
  organization_id: EXAMPLE.orgId,
  email: EXAMPLE.email,
  name: 'Jane Doe',
  first_name: 'Jane',
  last_name: 'Doe',
  organization_admin: false,
  deactivated: false,
  public_key: EXAMPLE.publicKey,
  created_at: EXAMPLE.created,
  updated_at: EXAMPLE.updated
}

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
}, { $id: 'User', title: 'User', examples: [USER_EXAMPLE] })

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

// No length limits here: checkPasswordRules is the one place that states them, with its own messages.
const Password = Type.String({ writeOnly: true, description: 'Browser sign-in password: 8 to 256 characters, not the e-mail. Never answered.' })

const UserCreate = Type.Object({ email: Email, ...UserWritable, password: Type.Optional(Password) }, {
  additionalProperties: false,
  examples: [{ email: EXAMPLE.email, first_name: 'Jane', last_name: 'Doe', name: 'Jane Doe', public_key: EXAMPLE.publicKey }]
})
const UserUpdate = Type.Object({
  email: Type.Optional(Email),
  ...UserWritable,
  password: Type.Optional(Type.Union([Password, Type.Null()], { description: 'A string sets the password; null removes it (no browser sign-in). Either ends the user\'s browser sessions.' }))
}, { additionalProperties: false, examples: [{ public_key: EXAMPLE.publicKey }] })

const ADMIN_EXAMPLE = { ...USER_EXAMPLE, id: EXAMPLE.adminId, email: EXAMPLE.adminEmail, name: 'Admin', first_name: 'Admin', last_name: '', organization_admin: true, public_key: null }

/** 403 of the routes that set credentials (docs/security.md): besides the admin check. */
const credentialRefusal = 'setting `public_key` or `password` needs a token with scope `user:all` or an admin scope that was not given to a third-party client through consent'

/** Whether a user body sets a credential: a key or a password, removing one included (docs/security.md). */
function setsCredential (body: object): boolean {
  return 'public_key' in body || 'password' in body
}

/** The password checked against the e-mail the user will have, then hashed; undefined when not sent. */
async function passwordHashOf (password: string | null | undefined, email: () => Promise<string>): Promise<string | null | undefined> {
  if (password === undefined || password === null) return password
  checkPasswordRules(password, await email())
  return await hashPassword(password)
}

/**
 * Users: admins manage them, passwords included; a user may set its own `public_key` (ascli's GET
 * /self then PUT). Passwords are hashed here, never stored or answered in clear.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  const admin = requireAdmin(ctx)
  const user = requireUser(ctx)

  app.get('/users', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'List users',
      operationId: 'listUsers',
      description: 'A page of the organization\'s users, oldest first; `q` searches names and e-mails, exact matches first.',
      querystring: ListQuery,
      response: { 200: listAnswer(UserBody, 'A page of users.', [ADMIN_EXAMPLE, USER_EXAMPLE]), 403: AdminRequired }
    }
  }, async (request, reply) => {
    const { rows, total } = await users.listUsers(ctx.adminDb, callerOf(request).organizationId, request.query)
    reply.header('X-Total-Count', total)
    return rows
  })

  app.post('/users', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      operationId: 'createUser',
      description: 'E-mails are unique in the organization, without case. `password` lets the user sign in on the browser pages; `public_key` lets it sign assertions for the JWT bearer grant.',
      body: UserCreate,
      response: {
        201: answerRef(UserBody, 'The user, created.', USER_EXAMPLE),
        403: forbidden(`The token is not an organization administrator's, or ${credentialRefusal}.`, 'this needs an organization administrator\'s token with scope admin:all'),
        409: conflict('A user with this e-mail already exists in the organization.', 'a user with this email already exists in the organization', 'email')
      }
    }
  }, async (request, reply) => {
    if (setsCredential(request.body)) requireCredentialPower(callerOf(request))
    const { password, ...fields } = request.body
    const hash = await passwordHashOf(password, async () => fields.email)
    const created = await createUser(ctx.db, auditSourceOf(request), fields, hash ?? null)
    return reply.status(201).send(created)
  })

  app.get('/users/:id', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'Get a user',
      operationId: 'getUser',
      description: 'One user of the caller\'s organization, by id.',
      params: IdParams,
      response: { 200: answerRef(UserBody, 'The user.', USER_EXAMPLE), 403: AdminRequired, 404: notFound('user') }
    }
  }, async (request) => users.getUser(ctx.db, callerOf(request).organizationId, request.params.id))

  app.put('/users/:id', {
    preHandler: user,
    schema: {
      tags: ['users'],
      summary: 'Update a user',
      operationId: 'updateUser',
      description: 'Admins may change any field. A user may change only its own `public_key` (its own password: `PUT /self/password`). ' +
        'Setting `public_key` or `password` needs a token with scope `user:all` or an admin scope that was not given to a third-party client through consent (403 otherwise).',
      params: IdParams,
      body: UserUpdate,
      response: {
        204: Done('Updated.'),
        403: forbidden('A user who is not an administrator changed another user, or a field other than its own `public_key` (its password ' +
          `included), or ${credentialRefusal}.`, 'only an administrator may change another user'),
        404: notFound('user'),
        409: conflict('The new e-mail is another user\'s, or the change would leave the organization without an active administrator.',
          'the organization must keep an active administrator: make another user one first', 'organization_admin')
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    if (!caller.isAdmin) {
      if (request.params.id !== caller.userId) throw new ForbiddenError('only an administrator may change another user')
      if ('password' in request.body) throw new ForbiddenError('a user changes its own password with PUT /api/v1/self/password, giving the current one')
      const other = Object.keys(request.body).find((k) => k !== 'public_key')
      if (other) throw new ForbiddenError(`only an administrator may set ${other}`)
    }
    if (setsCredential(request.body)) requireCredentialPower(caller)
    const { password, ...fields } = request.body
    const hash = await passwordHashOf(password, async () =>
      fields.email ?? (await users.getUser(ctx.db, caller.organizationId, request.params.id)).email)
    await updateUser(ctx.db, auditSourceOf(request), request.params.id, fields, hash)
    return reply.status(204).send(null)
  })

  app.delete('/users/:id', {
    preHandler: admin,
    schema: {
      tags: ['users'],
      summary: 'Delete a user, with its memberships and client authorizations',
      operationId: 'deleteUser',
      description: 'Its tokens stop working at once. An administrator cannot delete its own user, nor the last active administrator.',
      params: IdParams,
      response: {
        204: Done('Deleted.'),
        403: forbidden('The token is not an organization administrator\'s, or the user is the caller.', 'an administrator cannot delete its own user'),
        404: notFound('user'),
        409: conflict('The user is the organization\'s last active administrator (two administrators deleting each other at once: the second is refused).', 'the organization must keep an active administrator: make another user one first')
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    if (request.params.id === caller.userId) throw new ForbiddenError('an administrator cannot delete its own user')
    await deleteUser(ctx.db, auditSourceOf(request), request.params.id)
    return reply.status(204).send(null)
  })
}

export default routes
