import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { pingDatabase } from '../db/ping.js'
import { RETRY_AFTER_SECONDS } from '../errors.js'
import { databaseOutageLog } from '../plugins/errors.js'
import { exemptFromOverload } from '../plugins/overload.js'
import { retryAfterHeader } from './responses.js'
import { answer } from './schemas.js'

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
    schema: {
      tags: ['health'],
      summary: 'Liveness',
      operationId: 'getLiveness',
      description: 'The process answers. It asks nothing of the database and answers even when overloaded: restart the process only when this fails.',
      security: [],
      response: { 200: answer(Status, 'The process is alive.', { status: 'ok' }) }
    }
  }, async () => ({ status: 'ok' }))
  app.get('/health/ready', {
    config: exemptFromOverload,
    schema: {
      tags: ['health'],
      summary: 'Readiness: not stopping, not overloaded, and the database answers',
      operationId: 'getReadiness',
      description: 'Whether to send this instance requests now. 503 while it drains after SIGTERM (SHUTDOWN_GRACE), while it is overloaded, ' +
        'or when the database does not answer within 2 s; `degraded` is still ready.',
      security: [],
      response: {
        200: answer(Status, 'Ready: `ok`, or `degraded` (still serving).', { status: 'ok', database: 'postgres', change_feed: 'up' }),
        503: { ...answer(Status, 'Not ready: `reason` says why.', { status: 'unavailable', database: 'postgres', reason: 'draining' }), headers: retryAfterHeader('Seconds before asking again.') }
      }
    }
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
