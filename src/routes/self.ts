import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { callerOf, requireUser } from '../plugins/auth.js'
import { getUser } from '../registry/users.js'
import { UserBody } from './users.js'
import { errorResponses } from './schemas.js'

/** `GET /self`: the caller's own user record (ascli reads its id here before setting its key). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/self', {
    preHandler: requireUser(app.ctx),
    schema: { tags: ['users'], summary: 'The calling user', response: { 200: Type.Ref(UserBody), ...errorResponses(401, 403) } }
  }, async (request) => {
    const caller = callerOf(request)
    return getUser(app.ctx.db, caller.organizationId, caller.userId)
  })
}

export default routes
