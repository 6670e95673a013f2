import type { FastifyInstance } from 'fastify'
import { issuerFor } from '../paths.js'
import type { Config } from '../config.js'

/** The org named by a Host `<org>.<BASE_DOMAIN>` (port ignored), unless it is the API's own host. */
export function orgOfHost (config: Pick<Config, 'baseDomain' | 'publicUrl'>, hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  const host = hostHeader.toLowerCase().replace(/:\d+$/, '')
  const base = config.baseDomain.toLowerCase().replace(/:\d+$/, '')
  if (host === new URL(config.publicUrl).hostname.toLowerCase()) return undefined
  if (!host.endsWith('.' + base)) return undefined
  const label = host.slice(0, -(base.length + 1))
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label) ? label : undefined
}

/**
 * AoC's org discovery (docs/aoc-compatibility.md §1, §9): every GET to `<org>.<BASE_DOMAIN>` redirects to the org's
 * login page. The query is never empty and carries the original path encoded, so no `token=`
 * appears in it (ascli would take that for a public link).
 */
export function registerOrgHostRedirect (app: FastifyInstance, config: Config): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return
    const org = orgOfHost(config, request.headers.host)
    if (!org) return
    const from = encodeURIComponent(request.url)
    return reply.redirect(`${issuerFor(config.publicUrl, org)}/login?from=${from}`, 302)
  })
}
