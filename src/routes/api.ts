import type { FastifyPluginAsync } from 'fastify'
import { refuseUnstorableText, requireJsonBody } from '../plugins/validation.js'
import { commonRestResponses } from './responses.js'
import clientAccessRoutes from './client-access.js'
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
  // Each route lists its own answers; those that every route here may give are added once.
  app.addHook('onRoute', (route) => {
    route.schema = {
      security: [{ bearer: [] }],
      ...route.schema,
      response: { ...commonRestResponses(route.method), ...route.schema?.response as object }
    }
  })
  // JSON in UTF-8 only: a form or a UTF-16 body is refused before it is parsed (docs/security.md).
  app.addHook('onRequest', requireJsonBody)
  // PostgreSQL refuses U+0000 in text (the query would fail with a 500) and alters a lone surrogate.
  app.addHook('preValidation', refuseUnstorableText)
  // Answers are private to the caller and some carry secrets: no shared or browser cache keeps them.
  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store')
  })
  // A change made here must not be served stale by this instance's token endpoint, even once.
  app.addHook('onSend', async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      app.ctx.cache.clear()
      app.ctx.tokenFacts.localWrite()
    }
  })
  await app.register(selfRoutes)
  await app.register(consentRoutes)
  await app.register(userRoutes)
  await app.register(groupRoutes)
  await app.register(groupMembershipRoutes)
  await app.register(nodeRoutes)
  await app.register(clientRoutes)
  await app.register(clientAccessRoutes)
  await app.register(clientAuthorizationRoutes)
}

export default api
