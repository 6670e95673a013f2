import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import formbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { KEY_REFRESH_SECONDS, maxAccessTokenTtl, type Config } from './config.js'
import { UnavailableError } from './errors.js'
import type { AppContext } from './context.js'
import { hotRows } from './cache/hot-rows.js'
import { tokenFacts } from './cache/token-facts.js'
import { openDatabase } from './db/open.js'
import { connectPostgres, type DbHandle } from './db/connect.js'
import { migrateToLatest } from './db/migrate.js'
import { resolveSecretKeys } from './keys/master-key.js'
import { SecretBox } from './keys/secret-box.js'
import { ensureSigningKey, KeyStore, systemClock, type Clock } from './keys/signing-keys.js'
import { loggerOptions } from './logger.js'
import { changeFeedUp, changeNotifications, httpDuration, redisUp, sources as metricSources } from './metrics.js'
import { connectRedis, type RedisHandle } from './db/redis.js'
import { rateLimitStoreLog } from './plugins/token-rate-limit.js'
import { listenForChanges, type ChangeFeed } from './db/change-feed.js'
import { startMetricsListener } from './plugins/metrics-listener.js'
import { frameworkErrorHandler, registerErrorHandling } from './plugins/errors.js'
import { oauthErrorResponder } from './plugins/oauth-errors.js'
import { registerOverloadGuard } from './plugins/overload.js'
import { JtiRecorder } from './store/assertion-jtis.js'
import { purgeExpiredOnce } from './services/purge.js'
import { rotateSigningKeyIfDue } from './services/signing-keys.js'
import browserRoutes from './routes/browser.js'
import oauthRoutes from './routes/oauth.js'
import { registerOrgHostRedirect } from './routes/org-host.js'
import { registerSwagger } from './plugins/swagger.js'
import { strictSchemaController } from './plugins/validation.js'
import { RestErrorBody } from './routes/schemas.js'
import { UserBody } from './routes/users.js'
import { runBootstrapIfDue } from './services/bootstrap.js'
import apiRoutes from './routes/api.js'
import applicationEventRoutes from './routes/application-events.js'
import healthRoutes from './routes/health.js'
import jwksRoutes from './routes/jwks.js'

/**
 * Fastify's trustProxy from TRUST_PROXY. A hop count becomes proxy-addr's own test (the socket's
 * address is hop 0): fastify 5 now reads a bare number as "trust nothing", since with a count the
 * nearest peer is trusted whoever it is; so a count is for a server that only its proxies can reach.
 */
function trustProxyOption (trust: Config['trustProxy']): FastifyServerOptions['trustProxy'] {
  if (typeof trust === 'number') return (_address: string, hop: number) => hop < trust
  return trust
}

export interface BuildOptions {
  config: Config
  /** An open database (tests pass one); otherwise the configured one is opened and closed with the app. */
  db?: DbHandle
  /** Fastify logger option; defaults to pino at config.logLevel with redaction. */
  logger?: FastifyServerOptions['logger']
  /** The keys' clock (keys/signing-keys.ts): a test moves it to go through a scheduled rotation; the system clock otherwise. */
  now?: Clock
  /** Milliseconds between two turns of the scheduled key rotation on this instance; a minute unless a test wants it sooner. */
  keyRotationEveryMs?: number
}

/**
 * Runs `job` every `everyMs` on this instance, one turn at a time; a failed turn is logged and the
 * next one tries again. Closing the app stops the timer, aborts `signal` (a job that can stop
 * between two steps does) and waits for a turn under way.
 */
function every (app: FastifyInstance, everyMs: number, what: string, job: (signal: AbortSignal) => Promise<void>): void {
  let running: Promise<void> | undefined
  const stop = new AbortController()
  const timer = setInterval(() => {
    running ??= job(stop.signal)
      .catch((err: unknown) => { app.log.warn({ err }, `${what} failed`) })
      .finally(() => { running = undefined })
  }, everyMs)
  timer.unref()
  app.addHook('onClose', async () => {
    clearInterval(timer)
    stop.abort()
    await running
  })
}

/**
 * Builds the app from a config: database (migrated unless told not to), keys, bootstrap, plugins,
 * routes and the error handler. It does not listen; server.ts does.
 */
export async function buildApp (opts: BuildOptions): Promise<FastifyInstance> {
  const { config } = opts
  const handle = opts.db ?? await openDatabase(config)
  const ownsDb = !opts.db
  let feed: ChangeFeed | undefined
  let redis: RedisHandle | undefined
  // The REST lists' pool (context.ts adminDb), owned by the app even when the caller owns `handle`.
  const admin = handle.url
    ? connectPostgres(handle.url, config.adminDbPoolMax, { statementTimeoutMs: config.adminStatementTimeoutMs, applicationName: 'aoc-admin-reads', duty: config.adminDbDuty })
    : undefined
  try {
    if (config.migrateOnStart) await migrateToLatest(handle.db)
    const box = new SecretBox(await resolveSecretKeys(config.secretEncryptionKeys, config.dataDir))
    const now = opts.now ?? systemClock
    const keys = new KeyStore(handle.db, box, KEY_REFRESH_SECONDS * 1000, now)
    const cache = hotRows(handle.db)
    const facts = tokenFacts(handle.db)
    const ctx: AppContext = { config, db: handle.db, adminDb: admin?.db ?? handle.db, dbKind: handle.kind, box, keys, cache, tokenFacts: facts, jtis: new JtiRecorder(handle.db), lifecycle: { draining: false } }

    const app = Fastify({
      logger: opts.logger ?? loggerOptions(config.logLevel),
      genReqId: (req) => {
        const given = req.headers['x-request-id']
        return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID()
      },
      bodyLimit: config.bodyLimit,
      // One line per request, when it is answered (the hook below), not fastify's two: at the
      // token endpoint's rate the second line was a measurable share of the CPU (docs/operations.md).
      logController: new LogController({ disableRequestLogging: true }),
      trustProxy: trustProxyOption(config.trustProxy),
      ajv: { customOptions: { removeAdditional: false } },
      schemaController: strictSchemaController,
      routerOptions: { ignoreTrailingSlash: true },
      // Once close() has begun, a request that still arrives on a busy keep-alive connection would get
      // fastify's own 503, written past every hook: no Retry-After, no request id, a body in neither of
      // the document's error models (the OpenAPI check found it under graceful-stop.test.ts's load). The
      // onRequest hook below answers it instead, through the one error model.
      return503OnClosing: false,
      // The router's own errors (a bad percent-encoding in the path...) would otherwise get
      // fastify's default body, without a request id, even on the OAuth endpoints.
      frameworkErrors: frameworkErrorHandler(oauthErrorResponder)
    }).withTypeProvider<TypeBoxTypeProvider>()

    metricSources.pool = handle.poolStats
    metricSources.signingKeyActivatedAt = async () => await keys.signingSince()
    app.decorate('ctx', ctx)
    if (handle.url) {
      // Every committed change reaches this instance's caches at once (docs/cluster.md).
      feed = await listenForChanges(handle.url, {
        change: (change) => {
          changeNotifications.inc({ table: change.table })
          cache.apply(change)
          facts.apply(change)
          if (change.table === 'signing_keys') keys.invalidate()
        },
        state: (up, reason) => {
          changeFeedUp.set(up ? 1 : 0)
          cache.feed(up)
          facts.feed(up)
          keys.invalidate()
          if (up) app.log.info('change feed listening: cached rows are kept until a change drops them, a minute at most')
          else app.log.warn({ reason }, 'change feed down: cached rows are kept a second at most; reconnecting')
        }
      })
      ctx.changeFeed = feed
      const opened = feed
      app.addHook('onClose', async () => { facts.close(); await opened.close() })
    }
    if (config.redisUrl !== undefined) {
      // The token endpoint's limits are counted here, shared by every instance (docs/cluster.md).
      redis = await connectRedis(config.redisUrl, {
        state: (up, reason) => {
          redisUp.set(up ? 1 : 0)
          if (up) app.log.info('Redis answers: the rate limits are shared by every instance')
          else rateLimitStoreLog.warn(app.log, { reason }, 'Redis does not answer: the rate limits fail open until it is back; reconnecting')
        }
      })
      ctx.redis = redis
      const opened = redis
      app.addHook('onClose', async () => { await opened.close() })
    }
    app.decorateRequest('caller', null)
    app.addHook('onRequest', async (request, reply) => { reply.header('X-Request-Id', request.id) })
    // After the grace period the listener closes (server.ts): what still arrives is shed, as fastify
    // would, but with the documented 503 and Retry-After, so that the caller retries (another instance).
    // The probes answer as ever: liveness 200, readiness its own 503 `draining` (set here too, for a
    // close without a grace period).
    let closing = false
    app.addHook('preClose', async () => { closing = true; ctx.lifecycle.draining = true })
    app.addHook('onRequest', async (request) => {
      if (closing && !request.routeOptions.url?.startsWith('/health/')) throw new UnavailableError('the server is stopping; retry later')
    })
    // fastify closes the connections idle when the close begins, once. One busy then with a request
    // routed before it (so answered without `Connection: close`) turns idle later, and the close would
    // wait for the client to hang up (undici keeps it ~70 s): the server outlived its shutdown timeout
    // and exited 1 (test/server.test.ts). So until the server has closed, idle connections are closed
    // every 100 ms; a request already sent behind the one in flight still gets its 503 first.
    let reaper: NodeJS.Timeout | undefined
    app.addHook('preClose', async () => {
      reaper = setInterval(() => { app.server.closeIdleConnections() }, 100)
      reaper.unref()
    })
    app.addHook('onClose', async () => { clearInterval(reaper) })
    // By the route's pattern, never the path itself: an id or an org name must not become a label.
    app.addHook('onResponse', async (request, reply) => {
      request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
      httpDuration.observe({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status_class: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000)
    })
    // A request whose client went away before the answer gets no "request completed": say so instead.
    app.addHook('onRequestAbort', async (request) => {
      request.log.info({ req: request }, 'request aborted by the client')
    })
    if (config.metricsPort !== undefined) {
      const port = config.metricsPort
      let listener: Awaited<ReturnType<typeof startMetricsListener>> | undefined
      app.addHook('onReady', async () => {
        listener = await startMetricsListener(port, config.host)
        app.log.info({ port: listener.port }, 'metrics listener started (GET /metrics)')
      })
      app.addHook('onClose', async () => { await listener?.close() })
    }
    if (ownsDb) app.addHook('onClose', async () => { await handle.close() })
    if (admin) app.addHook('onClose', async () => { await admin.close() })

    await ensureSigningKey(handle.db, box, config.signingAlg, now())
    await runBootstrapIfDue(ctx, app.log)

    registerErrorHandling(app, oauthErrorResponder)
    await registerOverloadGuard(app, config)
    registerOrgHostRedirect(app, config)
    app.addSchema(RestErrorBody)
    app.addSchema(UserBody)
    await registerSwagger(app, config)
    await app.register(formbody)
    await app.register(healthRoutes)
    await app.register(jwksRoutes)
    await app.register(oauthRoutes)
    await app.register(browserRoutes)
    await app.register(apiRoutes, { prefix: '/api/v1' })
    await app.register(applicationEventRoutes, { prefix: '/analytics/v2' })
    // Background jobs: every instance takes a turn on its timer; one at a time does the work (an advisory lock).
    // Expired rows are useless (every PURGE_INTERVAL; 0: this instance never purges).
    if (config.purgeInterval > 0) {
      const retention = { usedCodeSeconds: config.refreshTokenTtl, eventDays: config.eventRetentionDays }
      every(app, config.purgeInterval * 1000, 'purge of expired records', async (signal) => {
        const removed = await purgeExpiredOnce(handle.db, retention, { duty: config.purgeDuty, signal })
        if (removed) app.log.debug({ removed }, 'purged expired records')
      })
    }
    // A new signing key each SIGNING_KEY_ROTATION_INTERVAL; every instance follows through its KeyStore.
    if (config.signingKeyRotationInterval > 0) {
      const schedule = {
        alg: config.signingAlg,
        interval: config.signingKeyRotationInterval,
        publishDelay: config.keyPublishDelay,
        maxTokenTtl: maxAccessTokenTtl(config),
        now
      }
      const src = { organizationId: null, actor: { type: 'system' as const }, log: app.log }
      every(app, opts.keyRotationEveryMs ?? 60_000, 'scheduled signing key rotation', async () => {
        const turn = await rotateSigningKeyIfDue(handle.db, box, src, schedule)
        if (turn.outcome !== 'rotated') return
        keys.invalidate()
        // The audit event's line says what was made; this one says why.
        app.log.info({ kid: turn.kid, activates_at: turn.activatesAt }, 'signing key rotated on schedule (SIGNING_KEY_ROTATION_INTERVAL): published now, signs from activates_at')
      })
    }
    return app
  } catch (err) {
    await feed?.close()
    await redis?.close()
    await admin?.close().catch(() => {})
    if (ownsDb) await handle.close().catch(() => {})
    throw err
  }
}
