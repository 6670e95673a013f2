import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { countAttempt, forgiveAttempt, throttleKeys, throttleLimitsOf } from '../browser/login-throttle.js'
import { ForbiddenError, RestError } from '../errors.js'
import { auditSourceOf, callerOf, requireCredentialPower, requireUser } from '../plugins/auth.js'
import { checkPasswordRules } from '../registry/password-rules.js'
import { hashPassword, verifyPassword } from '../registry/passwords.js'
import { getPasswordHash, getUser } from '../registry/users.js'
import { setUserPassword } from '../services/users.js'
import { USER_EXAMPLE, UserBody } from './users.js'
import { forbidden, restError, retryAfterHeader, UserTokenRequired } from './responses.js'
import { answerRef, Done } from './schemas.js'

const PasswordChange = Type.Object({
  current_password: Type.String({ writeOnly: true }),
  new_password: Type.String({ writeOnly: true, description: '8 to 256 characters, not the e-mail.' })
}, { additionalProperties: false, examples: [{ current_password: 'correct horse battery', new_password: 'staple-7-Orbit-lantern' }] })

/**
 * `GET /self`: the caller's own user record (ascli reads its id here before setting its key).
 * `PUT /self/password`: the caller changes its own password, proving it knows the current one.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/self', {
    preHandler: requireUser(app.ctx),
    schema: {
      tags: ['users'],
      summary: 'The calling user',
      operationId: 'getSelf',
      description: 'The user the token was issued for; ascli reads its id here before `PUT /users/{id}` with its `public_key`.',
      response: { 200: answerRef(UserBody, 'The calling user.', USER_EXAMPLE), 403: UserTokenRequired }
    }
  }, async (request) => {
    const caller = callerOf(request)
    return getUser(app.ctx.db, caller.organizationId, caller.userId)
  })

  app.put('/self/password', {
    preHandler: requireUser(app.ctx),
    schema: {
      tags: ['users'],
      summary: 'Change the calling user\'s password',
      operationId: 'changeOwnPassword',
      description: 'Needs the current password; a user without one asks an administrator. Wrong passwords count against the sign-in page\'s limits (429 with Retry-After past them). Ends the user\'s browser sessions.',
      body: PasswordChange,
      response: {
        204: Done('Changed; the user\'s browser sessions are ended.'),
        403: forbidden('A node-scoped token, a token that may not set credentials (a `self` token, or one given to a third-party client ' +
          'through consent), a user without a password, or a wrong `current_password`.', 'current_password is wrong'),
        429: restError('Too many wrong passwords for this account or from this address within LOGIN_FAILURE_WINDOW (the sign-in page\'s count).',
          { code: 'too_many_requests', message: 'too many wrong passwords; retry later' },
          { headers: retryAfterHeader('Seconds until the failure window lets the account try again.') })
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    requireCredentialPower(caller)
    const { current_password: current, new_password: next } = request.body
    // A bearer token alone must not be enough to take over browser sign-in: the current password is proof too.
    const hash = await getPasswordHash(app.ctx.db, caller.organizationId, caller.userId)
    if (hash === null) throw new ForbiddenError('this user has no password; an administrator must set one')
    // The same count as the sign-in page: a token must not buy unlimited guesses at the password.
    const keys = throttleKeys(caller.organizationId, caller.email, request.ip)
    const wait = await countAttempt(app.ctx.db, keys, throttleLimitsOf(app.ctx.config))
    if (wait !== undefined) {
      reply.header('Retry-After', String(wait))
      throw new RestError(429, 'too_many_requests', 'too many wrong passwords; retry later')
    }
    if (!await verifyPassword(hash, current)) throw new ForbiddenError('current_password is wrong')
    await forgiveAttempt(app.ctx.db, keys)
    checkPasswordRules(next, caller.email, 'new_password')
    await setUserPassword(app.ctx.db, auditSourceOf(request), caller.userId, await hashPassword(next))
    return reply.status(204).send(null)
  })
}

export default routes
