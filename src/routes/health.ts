import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { pingDatabase } from '../db/ping.js'

const Status = Type.Object({ status: Type.String(), database: Type.Optional(Type.String()) })

/** Liveness (the process answers) and readiness (the database answers within 2 s). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', { schema: { tags: ['health'], summary: 'Liveness', response: { 200: Status } } }, async () => ({ status: 'ok' }))
  app.get('/health/ready', {
    schema: { tags: ['health'], summary: 'Readiness: the database answers', response: { 200: Status, 503: Status } }
  }, async (request, reply) => {
    try {
      await pingDatabase(app.ctx.db)
      return { status: 'ok', database: app.ctx.dbKind }
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed')
      return reply.status(503).send({ status: 'unavailable', database: app.ctx.dbKind })
    }
  })
}

export default routes
