import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AppContext } from '../context.js'
import { findCachedClient } from '../oauth/client-auth.js'
import { anyClientAllowsOrigin } from '../store/clients.js'

/** The endpoints a browser app calls itself: the token endpoint (code exchange, refresh) and revocation. */
const BROWSER_ENDPOINT = /^(?:\/[^?]*)?\/api\/v1\/oauth2\/([a-z0-9-]{1,63})\/(?:token|revoke)(?:\?|$)/

const DENY: FastifyCorsOptions = { origin: false }

/**
 * CORS for each client's registered `origins` (docs/aoc-compatibility.md §7). A preflight names no client, so it is
 * allowed when some client of the org lists the origin; the request itself is allowed only when the
 * client it names lists it. No credentials: these endpoints take no cookies.
 */
export async function registerClientCors (app: FastifyInstance, ctx: AppContext, claimedClientId: (r: FastifyRequest) => string): Promise<void> {
  async function optionsFor (request: FastifyRequest): Promise<FastifyCorsOptions> {
    const origin = request.headers.origin
    const m = BROWSER_ENDPOINT.exec(request.url)
    if (!origin || !m) return DENY
    const org = await ctx.cache.org(m[1]!)
    if (!org) return DENY
    let allowed: boolean
    if (request.method === 'OPTIONS') {
      allowed = await anyClientAllowsOrigin(ctx.db, org.id, origin)
    } else {
      const client = await findCachedClient(ctx, org.id, claimedClientId(request))
      allowed = client?.origins.includes(origin) ?? false
    }
    if (!allowed) return DENY
    return { origin, methods: ['POST'], allowedHeaders: ['Authorization', 'Content-Type'], maxAge: 600 }
  }

  await app.register(cors, {
    // After body parsing, so the client named in the form is known.
    hook: 'preHandler',
    delegator: (request, callback) => {
      if (!request.headers.origin) {
        callback(null, DENY)
        return
      }
      // A failed lookup denies the origin; the endpoint itself then answers the request as it would.
      optionsFor(request).then((o) => callback(null, o), (err: unknown) => {
        request.log.warn({ err }, 'CORS check failed; origin denied')
        callback(null, DENY)
      })
    }
  })
}
