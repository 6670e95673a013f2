import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { pingDatabase } from '../db/ping.js'
import { RETRY_AFTER_SECONDS } from '../errors.js'
import { databaseOutageLog } from '../plugins/errors.js'
import { exemptFromOverload } from '../plugins/overload.js'

const Status = Type.Object({
  status: Type.String({ description: '`ok`; `degraded` (still ready: the change feed is down, cached rows live a second at most; or Redis is down, the rate limits fail open); or `unavailable` with the reason' }),
  database: Type.Optional(Type.String()),
  change_feed: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down')], { description: 'PostgreSQL only: whether this instance hears of every change (docs/cluster.md)' })),
  redis: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down')], { description: 'With REDIS_URL only: whether the Redis that shares the rate limits answers; while it does not, the limits fail open' })),
  reason: Type.Optional(Type.Union([Type.Literal('draining'), Type.Literal('overloaded'), Type.Literal('database')], {
    description: 'draining: the server is stopping (SIGTERM); overloaded: past OVERLOAD_* limits; database: it does not answer within 2 s'
  }))
})

/**
 * Liveness (the process answers, whatever the load) and readiness: the server will serve a request
 * now. Both answer under overload, which readiness reports rather than refuses (docs/operations.md).
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', {
    config: exemptFromOverload,
    schema: { tags: ['health'], summary: 'Liveness', operationId: 'getLiveness', response: { 200: Status } }
  }, async () => ({ status: 'ok' }))
  app.get('/health/ready', {
    config: exemptFromOverload,
    schema: { tags: ['health'], summary: 'Readiness: not stopping, not overloaded, and the database answers', operationId: 'getReadiness', response: { 200: Status, 503: Status } }
  }, async (request, reply) => {
    const { ctx } = app
    const unready = (reason: 'draining' | 'overloaded' | 'database') =>
      reply.status(503).header('Retry-After', String(RETRY_AFTER_SECONDS)).send({ status: 'unavailable', database: ctx.dbKind, reason })
    if (ctx.lifecycle.draining) return unready('draining')
    if (app.isUnderPressure()) return unready('overloaded')
    try {
      await pingDatabase(ctx.db)
      const state = (up: boolean) => up ? 'up' as const : 'down' as const
      const feed = ctx.changeFeed && state(ctx.changeFeed.up())
      const redis = ctx.redis && state(ctx.redis.up())
      return {
        status: feed === 'down' || redis === 'down' ? 'degraded' : 'ok',
        database: ctx.dbKind,
        ...(feed && { change_feed: feed }),
        ...(redis && { redis })
      }
    } catch (err) {
      const { code, message } = err as { code?: unknown, message?: unknown }
      databaseOutageLog.warn(request.log, { db_error: { code, message } }, 'readiness check failed: the database does not answer')
      return unready('database')
    }
  })
}

export default routes
