import type { FastifyPluginAsync } from 'fastify'
import { refuseNulCharacters } from '../plugins/validation.js'
import clientAuthorizationRoutes from './client-authorizations.js'
import clientRoutes from './clients.js'
import consentRoutes from './consents.js'
import groupMembershipRoutes from './group-memberships.js'
import groupRoutes from './groups.js'
import nodeRoutes from './nodes.js'
import selfRoutes from './self.js'
import userRoutes from './users.js'

/** The REST API under /api/v1: every route here takes a Bearer access token. */
const api: FastifyPluginAsync = async (app) => {
  app.addHook('onRoute', (route) => {
    route.schema = { security: [{ bearer: [] }], ...route.schema }
  })
  // PostgreSQL refuses U+0000 in text, so it would otherwise fail the query with a 500.
  app.addHook('preValidation', refuseNulCharacters)
  // Answers are private to the caller and some carry secrets: no shared or browser cache keeps them.
  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store')
  })
  // A change made here must not be served stale by this instance's token endpoint, even once.
  app.addHook('onSend', async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') app.ctx.cache.clear()
  })
  await app.register(selfRoutes)
  await app.register(consentRoutes)
  await app.register(userRoutes)
  await app.register(groupRoutes)
  await app.register(groupMembershipRoutes)
  await app.register(nodeRoutes)
  await app.register(clientRoutes)
  await app.register(clientAuthorizationRoutes)
}

export default api
