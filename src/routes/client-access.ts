import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { InvalidParameterError, MissingParameterError } from '../errors.js'
import { auditSourceOf, callerOf, requireAdmin } from '../plugins/auth.js'
import { explainClientAccess } from '../services/client-access.js'
import { EXAMPLE } from './examples.js'
import { AdminRequired, restError } from './responses.js'
import { answerRef, IdParams, IdString } from './schemas.js'

const RULES = [
  'jwt_grant_disabled', 'user_deactivated', 'user_not_listed', 'no_key_verified', 'no_global_key', 'no_user_key',
  'scope_too_long', 'too_many_scopes', 'unknown_scope', 'admin_scope_not_admin', 'unknown_node', 'owner_access_required', 'admin_node_tokens_disabled'
] as const

const KeyAnswer = Type.Union([
  Type.Object({
    decision: Type.Literal('allowed'),
    scope: Type.String({ description: 'The scope the token would carry.' }),
    scopes: Type.Array(Type.String()),
    expires_in: Type.Integer({ description: 'Its lifetime, seconds.' })
  }),
  Type.Object({
    decision: Type.Literal('refused'),
    error: Type.Union([Type.Literal('unauthorized_client'), Type.Literal('invalid_grant'), Type.Literal('invalid_scope')], { description: 'The OAuth error the token endpoint answers.' }),
    rule: Type.Union(RULES.map((r) => Type.Literal(r)), { description: 'The rule that refused.' }),
    description: Type.String({ description: 'The `error_description` the token endpoint answers: for the subject rules, the same vague sentence whatever the cause (docs/security.md).' }),
    fix: Type.String({ description: 'What an administrator can change to allow it.' })
  })
], { $id: 'AccessKeyAnswer', title: 'AccessKeyAnswer' })

const AccessExplanation = Type.Object({
  client_id: Type.String(),
  user_id: Type.String(),
  email: Type.String(),
  scope: Type.Union([Type.String(), Type.Null()], { description: 'As asked; null: the default, user:all.' }),
  owner_access: Type.Boolean(),
  listing: Type.Object({
    required: Type.Boolean({ description: 'The client gives tokens to listed users only (`whitelist_enabled`).' }),
    listed: Type.Boolean(),
    directly: Type.Boolean({ description: 'Listed by a client authorization of the user itself.' }),
    groups: Type.Array(Type.Object({ id: Type.String(), name: Type.String() }), { description: 'The user\'s groups that are listed for the client.' })
  }),
  user_key: Type.Ref(KeyAnswer, { description: 'An assertion signed with the user\'s own key.' }),
  global_key: Type.Ref(KeyAnswer, { description: 'An assertion signed with the client\'s global key.' })
}, { $id: 'AccessExplanation', title: 'AccessExplanation' })

const EXPLANATION_EXAMPLE = {
  client_id: EXAMPLE.clientId,
  user_id: EXAMPLE.userId,
  email: EXAMPLE.email,
  scope: null,
  owner_access: false,
  listing: { required: true, listed: true, directly: false, groups: [{ id: EXAMPLE.groupId, name: 'Media operations' }] },
  user_key: { decision: 'allowed', scope: 'user:all', scopes: ['user:all'], expires_in: 3600 },
  global_key: {
    decision: 'refused',
    error: 'invalid_grant',
    rule: 'no_global_key',
    description: 'the assertion\'s subject is unknown, not allowed for this client, or not signed with an accepted key; check your public key in your user profile',
    fix: `The client has no global key: set one (PUT /api/v1/clients/${EXAMPLE.clientId} with "public_key"), or sign with the user's own key.`
  }
}

const AccessQuery = Type.Object({
  user_id: Type.Optional(IdString('The user, by id. Give this or `email`.')),
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'The user, by e-mail (without case), as an assertion\'s `sub`. Give this or `user_id`.' })),
  scope: Type.Optional(Type.String({ maxLength: 4096, description: 'The scope the token request would ask for; default user:all.' })),
  owner_access: Type.Optional(Type.Boolean({ description: 'The token request\'s `owner_access`, for admin node scopes.' }))
}, { additionalProperties: false })

/**
 * "Why can't this user get a token through this client?": the token endpoint's decision for a
 * JWT-bearer request about the user, by either signing key, with the rule that refused and what to change.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { ctx } = app
  app.addSchema(KeyAnswer)
  app.addSchema(AccessExplanation)

  app.get('/clients/:id/access', {
    preHandler: requireAdmin(ctx),
    schema: {
      tags: ['clients'],
      summary: 'Explain whether a user can get a token through a client',
      operationId: 'explainClientAccess',
      description: 'What the token endpoint would decide for a JWT-bearer request about the user through this client, ' +
        'once for an assertion signed with the user\'s own key and once for one signed with the client\'s global key: ' +
        '`allowed` with the scope and lifetime, or `refused` with the rule that refused and what an administrator can change. ' +
        'It runs the token endpoint\'s own decision on the same rows, so the two agree. Read-only; each call is an audit event ' +
        '(`client.access_explained`).',
      params: IdParams,
      querystring: AccessQuery,
      response: {
        200: answerRef(AccessExplanation, 'What the token endpoint would decide, by each key.', EXPLANATION_EXAMPLE),
        403: AdminRequired,
        404: restError('No client with this id, or no user with this id or e-mail, in the caller\'s organization.', { code: 'not_found', message: 'user not found' })
      }
    }
  }, async (request) => {
    const { user_id: userId, email, scope, owner_access: ownerAccess } = request.query
    if (userId !== undefined && email !== undefined) throw new InvalidParameterError('email', 'give user_id or email, not both')
    const user = userId ?? email
    if (user === undefined) throw new MissingParameterError('user_id', 'user_id or email is required: give one of them')
    return await explainClientAccess(ctx, auditSourceOf(request), callerOf(request).organizationName, {
      clientId: request.params.id, user, ...(scope !== undefined && { scope }), ownerAccess: ownerAccess ?? false
    })
  })
}

export default routes
