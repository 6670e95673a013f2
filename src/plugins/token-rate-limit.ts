// The token, introspection and revocation endpoints' rate limit (TOKEN_RATE_LIMIT_PER_MINUTE), per
// source address and per client, on @fastify/rate-limit's counters.
import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
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

const OFF: TokenRateLimiter = { byAddress: async () => {}, byClient: async () => {} }

/** Registers @fastify/rate-limit on `app` (no global hook) and answers the two counts. */
export async function tokenRateLimit (app: FastifyInstance, opts: TokenRateLimitOptions): Promise<TokenRateLimiter> {
  if (opts.perMinute <= 0) return OFF
  await app.register(rateLimit, { global: false, ...opts.store })
  const clientOf = new WeakMap<FastifyRequest, string>()
  const window = { max: opts.perMinute, timeWindow: 60_000 }
  const addressLimit = app.createRateLimit({ ...window, keyGenerator: (r) => 'ip:' + r.ip })
  const clientLimit = app.createRateLimit({ ...window, keyGenerator: (r) => 'client:' + clientOf.get(r)! })
  const enforce = async (limit: typeof addressLimit, request: FastifyRequest): Promise<void> => {
    const result = await limit(request)
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
