import type { FastifyPluginAsync } from 'fastify'
import selfRoutes from './self.js'
import userRoutes from './users.js'

/** The REST API under /api/v1: every route here takes a Bearer access token. */
const api: FastifyPluginAsync = async (app) => {
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [{ bearer: [] }] }
  })
  await app.register(selfRoutes)
  await app.register(userRoutes)
}

export default api
