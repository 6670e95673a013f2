// Overload: past a mean event-loop delay or a heap size, new requests get 503 with Retry-After at
// once, rather than queueing behind the work the process cannot finish (docs/operations.md).
// @fastify/under-pressure samples the process; the answer goes through the one error model.
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { UnavailableError } from '../errors.js'
import { ThrottledWarning } from '../logger.js'
import { unavailable } from '../metrics.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** under-pressure's per-route handler; `exemptFromOverload` lets the request through. */
    pressureHandler?: (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => Promise<void> | void
  }
}

/** Route config for what must answer whatever the load: liveness, and readiness (which reports the pressure itself). */
export const exemptFromOverload = { pressureHandler: () => undefined }

const overloadLog = new ThrottledWarning()

export async function registerOverloadGuard (app: FastifyInstance, config: Config): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: config.overloadMaxEventLoopDelayMs,
    maxHeapUsedBytes: config.overloadMaxHeapUsedBytes,
    // Twice a second: a spike is seen within half a second, and one slow tick does not decide alone.
    sampleInterval: 500,
    pressureHandler: async (request, _reply, type, value) => {
      unavailable.inc({ cause: 'overload' })
      overloadLog.warn(request.log, { pressure: type, value }, 'the server is overloaded: answering 503')
      throw new UnavailableError('the server is overloaded; retry later')
    }
  })
}
