import type { Kysely } from 'kysely'
import type { Config } from './config.js'
import type { Database } from './db/schema.js'
import type { DbKind } from './db/connect.js'
import type { KeyStore } from './keys/signing-keys.js'
import type { SecretBox } from './keys/secret-box.js'
import type { HotRows } from './cache/hot-rows.js'
import type { TokenFacts } from './cache/token-facts.js'
import type { JtiRecorder } from './store/assertion-jtis.js'
import type { RedisHandle } from './db/redis.js'

/** What every route and service may use: built once in app.ts, decorated onto the app as `ctx`. */
export interface AppContext {
  config: Config
  db: Kysely<Database>
  /**
   * The REST lists' database: on PostgreSQL a small pool of its own (ADMIN_DB_POOL_MAX) whose
   * statements end after ADMIN_STATEMENT_TIMEOUT_MS, so that admin searches neither take the token
   * endpoint's connections nor run without bound. On PGlite (one session) it is `db`, without timeout.
   */
  adminDb: Kysely<Database>
  dbKind: DbKind
  box: SecretBox
  keys: KeyStore
  /** Rows the token endpoint reads on every request, cached for at most a second (cache/hot-rows.ts). */
  cache: HotRows
  /** What every access-token check reads (holder, revocation): from memory while the change feed is up (cache/token-facts.ts). */
  tokenFacts: TokenFacts
  /** Used assertion jtis, batched (oauth/replay.ts). */
  jtis: JtiRecorder
  /** Set on SIGTERM (server.ts): /health/ready answers 503 while requests are still served, so that load balancers stop sending. */
  lifecycle: { draining: boolean }
  /** Whether this instance hears of every committed change (db/change-feed.ts); absent on the embedded database. */
  changeFeed?: { up: () => boolean }
  /** With REDIS_URL: the connection that shares the rate-limit counters between instances (db/redis.ts). */
  redis?: RedisHandle
}

/** The caller of a REST request, from a verified access token. */
export interface Caller {
  userId: string
  email: string
  organizationId: string
  organizationName: string
  isAdmin: boolean
  clientId: string
  scopes: string[]
  jti: string
  exp: number
  /** Issued by the browser flow of a client that asks for consent: it may not set credentials (docs/security.md). */
  delegated: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext
  }
  interface FastifyRequest {
    caller: Caller | null
  }
}
