// The server's Prometheus metrics (prom-client), served on their own listener (METRICS_PORT,
// plugins/metrics-listener.ts). One registry per process: a process runs one server. Label values
// are bounded sets (grant names, OAuth error codes, route patterns, cache names, event types):
// never a client id, a user, an organization or an address.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export const registry = new Registry()
collectDefaultMetrics({ register: registry })

export const httpDuration = new Histogram({
  name: 'aoc_http_request_duration_seconds',
  help: 'HTTP request duration by route pattern, method and status class',
  labelNames: ['route', 'method', 'status_class'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry]
})

/** The grants a label may name; anything else is `other`. */
const GRANT_LABELS: Readonly<Record<string, string>> = {
  'urn:ietf:params:oauth:grant-type:jwt-bearer': 'jwt-bearer',
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token'
}

/** A grant_type as a label value: one of the three grants, `none` when missing, else `other`. */
export function grantLabel (grantType: string | undefined): string {
  if (grantType === undefined || grantType === '') return 'none'
  return Object.hasOwn(GRANT_LABELS, grantType) ? GRANT_LABELS[grantType]! : 'other'
}

export const tokensIssued = new Counter({
  name: 'aoc_tokens_issued_total',
  help: 'Access tokens issued, by grant',
  labelNames: ['grant'] as const,
  registers: [registry]
})

export const tokenErrors = new Counter({
  name: 'aoc_token_errors_total',
  help: 'Token requests refused, by grant and OAuth error code',
  labelNames: ['grant', 'error'] as const,
  registers: [registry]
})

export const rateLimited = new Counter({
  name: 'aoc_rate_limited_total',
  help: 'Requests refused by TOKEN_RATE_LIMIT_PER_MINUTE, by endpoint',
  labelNames: ['endpoint'] as const,
  registers: [registry]
})

export const unavailable = new Counter({
  name: 'aoc_unavailable_total',
  help: 'Requests answered 503 because the database was unavailable (cause="database"), an admin statement ran past its timeout (cause="statement_timeout") or the process overloaded (cause="overload")',
  labelNames: ['cause'] as const,
  registers: [registry]
})

export const changeNotifications = new Counter({
  name: 'aoc_change_notifications_total',
  help: 'Change-feed notifications received, by table (docs/cluster.md)',
  labelNames: ['table'] as const,
  registers: [registry]
})

export const changeFeedUp = new Gauge({
  name: 'aoc_change_feed_up',
  help: '1 while the change feed listens; 0 while it is down and the row caches fall back to a 1 s TTL (absent on the embedded database)',
  registers: [registry]
})

export const redisUp = new Gauge({
  name: 'aoc_redis_up',
  help: '1 while the Redis that shares the rate-limit counters answers, 0 while it does not (absent without REDIS_URL)',
  registers: [registry]
})

export const rateLimitStoreErrors = new Counter({
  name: 'aoc_rate_limit_store_errors_total',
  help: 'Requests let through unlimited because their rate-limit counter in Redis was out of reach (the limits fail open)',
  registers: [registry]
})

export const jtiBatchSize = new Histogram({
  name: 'aoc_jti_batch_size',
  help: 'Assertion jtis recorded per database insert (requests that arrived together)',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry]
})

export const cacheLookups = new Counter({
  name: 'aoc_cache_lookups_total',
  help: 'Row cache lookups, by cache and result (hit: from the cache; miss: loaded; shared: joined a load under way)',
  labelNames: ['cache', 'result'] as const,
  registers: [registry]
})

export const auditEvents = new Counter({
  name: 'aoc_audit_events_total',
  help: 'Audit events recorded, by event type (a counted event once per occurrence)',
  labelNames: ['event_type'] as const,
  registers: [registry]
})

/** What the gauges below read when scraped; the app sets them when it is built. */
export const sources: {
  pool?: () => { total: number, idle: number, waiting: number }
  signingKeyActivatedAt?: () => Promise<Date | undefined>
} = {}

export const dbPoolConnections = new Gauge({
  name: 'aoc_db_pool_connections',
  help: 'PostgreSQL pool connections by state (idle, in_use, waiting); absent on the embedded database',
  labelNames: ['state'] as const,
  registers: [registry],
  collect () {
    const stats = sources.pool?.()
    if (!stats) return
    this.set({ state: 'idle' }, stats.idle)
    this.set({ state: 'in_use' }, stats.total - stats.idle)
    this.set({ state: 'waiting' }, stats.waiting)
  }
})

export const signingKeyAge = new Gauge({
  name: 'aoc_signing_key_age_seconds',
  help: 'Seconds since the key that signs access tokens now began to sign',
  registers: [registry],
  async collect () {
    // A scrape during a database outage still answers, with the other metrics and without this one's update.
    const activatedAt = await sources.signingKeyActivatedAt?.().catch(() => undefined)
    if (activatedAt) this.set((Date.now() - activatedAt.getTime()) / 1000)
  }
})
