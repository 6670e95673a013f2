// The token, introspection and revocation endpoints' rate limit (TOKEN_RATE_LIMIT_PER_MINUTE), per
// source address and per client, on @fastify/rate-limit's counters: in this instance's memory, or
// with REDIS_URL in Redis, shared by every instance (docs/cluster.md "Shared rate limits").
import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ThrottledWarning } from '../logger.js'
import { rateLimited } from '../metrics.js'
import { RateLimited } from '../oauth/errors.js'

/**
 * Where the counts live: @fastify/rate-limit's own store options. Left out, each instance counts
 * in memory on its own (an LRU of keys); `redis` (an ioredis client) or a `store` class shares them.
 */
export type RateLimitStoreOptions = Pick<RateLimitPluginOptions, 'redis' | 'store' | 'nameSpace' | 'cache'>

export interface TokenRateLimitOptions {
  /** requests per minute per key; 0 turns the limit off */
  perMinute: number
  store?: RateLimitStoreOptions
  /**
   * Given, a store that fails (Redis away or too slow) lets the request through and this is told:
   * the limits fail open rather than refuse every request because a counter is out of reach.
   */
  onStoreError?: (err: unknown) => void
}

/** The two counts. Each throws RateLimited (429 with Retry-After) past the limit. */
export interface TokenRateLimiter {
  /** Counts the request against its source address (every request). */
  byAddress: (request: FastifyRequest) => Promise<void>
  /**
   * Counts the request against the client, once the client has proved itself (its secret, or an
   * assertion its key signed), so that a caller who only knows a client id cannot use up that
   * client's limit.
   */
  byClient: (request: FastifyRequest, clientId: string) => Promise<void>
}

/** The endpoint a request is for, as a bounded label: the last segment of its route pattern, or `preflight`. */
function endpointOf (request: FastifyRequest): string {
  if (request.method === 'OPTIONS') return 'preflight'
  const last = (request.routeOptions.url ?? '').split('/').pop() ?? ''
  return ['token', 'introspect', 'revoke'].includes(last) ? last : 'other'
}

/** Redis away: one warning a minute, whether its connection dropped or a count failed (README "Shared rate limits"). */
export const rateLimitStoreLog = new ThrottledWarning(60_000)

const OFF: TokenRateLimiter = { byAddress: async () => {}, byClient: async () => {} }

/** Registers @fastify/rate-limit on `app` (no global hook) and answers the two counts. */
export async function tokenRateLimit (app: FastifyInstance, opts: TokenRateLimitOptions): Promise<TokenRateLimiter> {
  if (opts.perMinute <= 0) return OFF
  await app.register(rateLimit, { global: false, ...opts.store })
  const clientOf = new WeakMap<FastifyRequest, string>()
  const window = { max: opts.perMinute, timeWindow: 60_000 }
  const addressLimit = app.createRateLimit({ ...window, keyGenerator: (r) => 'ip:' + r.ip })
  const clientLimit = app.createRateLimit({ ...window, keyGenerator: (r) => 'client:' + clientOf.get(r)! })
  const count = async (limit: typeof addressLimit, request: FastifyRequest): Promise<Awaited<ReturnType<typeof limit>> | undefined> => {
    if (!opts.onStoreError) return await limit(request)
    try {
      return await limit(request)
    } catch (err) {
      opts.onStoreError(err)
      return undefined
    }
  }
  const enforce = async (limit: typeof addressLimit, request: FastifyRequest): Promise<void> => {
    const result = await count(limit, request)
    if (result === undefined) return
    if (!result.isAllowed && result.isExceeded) {
      rateLimited.inc({ endpoint: endpointOf(request) })
      throw new RateLimited(Math.max(1, result.ttlInSeconds))
    }
  }
  return {
    byAddress: async (request) => { await enforce(addressLimit, request) },
    byClient: async (request, clientId) => {
      clientOf.set(request, clientId)
      await enforce(clientLimit, request)
    }
  }
}
