import { isIP } from 'node:net'
import path from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import addFormatsImport from 'ajv-formats'

// ajv-formats is CommonJS with a default export; under NodeNext the namespace wraps it.
const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default

/** Raised when an environment variable is invalid; the message names the variable. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG'
  constructor (readonly variable: string, message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/**
 * Seconds an instance may serve the signing keys it last read without the change feed (keys/signing-keys.ts
 * KeyStore). A rotated-in key must be published at least that long before it signs: otherwise an
 * instance could sign with a key that another's JWKS does not show yet (docs/cluster.md).
 */
export const KEY_REFRESH_SECONDS = 5

/**
 * Seconds a retired signing key stays published beyond the longest access-token lifetime, for
 * verifiers whose clocks run a little behind (keys/signing-keys.ts rotateSigningKeyIn).
 */
export const RETIRED_KEY_MARGIN_SECONDS = 60

const Seconds = (def: number, min = 1, max = 31 * 24 * 3600) =>
  Type.Integer({ default: def, minimum: min, maximum: max })

// grpc is in the list so that it is refused with its own message (parseTracing), not as an unknown value.
const OtlpProtocol = Type.Union(['http/protobuf', 'http/json', 'grpc'].map((p) => Type.Literal(p)))

/**
 * Every environment variable the service reads, with its default. README's table mirrors this.
 * Kept flat and upper-case so a message can name the variable exactly as the operator typed it.
 */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PUBLIC_URL: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://' })),
  BASE_DOMAIN: Type.Optional(Type.String({ pattern: '^[a-z0-9.-]+(:[0-9]+)?$' })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$', maxLength: 2048 })),
  REDIS_KEY_PREFIX: Type.String({ default: 'aoc:', pattern: '^[A-Za-z0-9:._-]{1,64}$' }),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  EMBEDDED_DB_THREAD: Type.Union([Type.Literal('worker'), Type.Literal('main')], { default: 'worker' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  ADMIN_TOKEN_TTL: Seconds(1800, 60, 24 * 3600),
  USER_TOKEN_TTL: Seconds(3600, 60, 24 * 3600),
  SIGNING_ALG: Type.Union([Type.Literal('ES256'), Type.Literal('RS256'), Type.Literal('EdDSA')], { default: 'ES256' }),
  // One key or a comma-separated list: parseSecretEncryptionKeys checks each entry.
  SECRET_ENCRYPTION_KEY: Type.Optional(Type.String({ maxLength: 4096 })),
  ACCESS_TOKEN_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  KEY_PUBLISH_DELAY: Seconds(600, KEY_REFRESH_SECONDS, 7 * 24 * 3600),
  // 0 turns the scheduled rotation off; its least other value depends on the token lifetimes (loadConfig).
  SIGNING_KEY_ROTATION_INTERVAL: Type.Integer({ default: 90 * 24 * 3600, minimum: 0, maximum: 10 * 365 * 24 * 3600 }),
  MIGRATE_ON_START: Type.Boolean({ default: true }),
  BOOTSTRAP: Type.Union([Type.Literal('auto'), Type.Literal('true'), Type.Literal('false')], { default: 'auto' }),
  BOOTSTRAP_ORG: Type.String({ default: 'demo', pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$' }),
  BOOTSTRAP_ADMIN_EMAIL: Type.String({ default: 'admin@example.com', format: 'email' }),
  DB_POOL_MAX: Type.Integer({ default: 10, minimum: 1, maximum: 200 }),
  // One: an admin list at a time per instance, so that 1000-row pages never take the token path's cores (README "A million users").
  ADMIN_DB_POOL_MAX: Type.Integer({ default: 1, minimum: 1, maximum: 100 }),
  ADMIN_STATEMENT_TIMEOUT_MS: Type.Integer({ default: 5000, minimum: 0, maximum: 600_000 }),
  ADMIN_DB_DUTY: Type.Number({ default: 0.5, exclusiveMinimum: 0, maximum: 1 }),
  BODY_LIMIT: Type.Integer({ default: 65536, minimum: 1024, maximum: 10 * 1024 * 1024 }),
  SHUTDOWN_TIMEOUT: Seconds(10, 1, 600),
  SHUTDOWN_GRACE: Seconds(5, 0, 300),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1000, minimum: 0, maximum: 60_000 }),
  OVERLOAD_MAX_HEAP_USED_BYTES: Type.Integer({ default: 0, minimum: 0 }),
  TRUST_PROXY: Type.String({ default: 'false', maxLength: 4096 }),
  ASSERTION_LEEWAY: Seconds(60, 0, 600),
  ASSERTION_MAX_LIFETIME: Seconds(3600, 60, 24 * 3600),
  ASSERTION_AUDIENCES: Type.Optional(Type.String({ minLength: 1 })),
  REQUIRE_JTI: Type.Boolean({ default: false }),
  TOKEN_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 1200, minimum: 0, maximum: 10_000_000 }),
  AUTH_CODE_TTL: Seconds(60, 10, 600),
  SESSION_TTL: Seconds(8 * 3600, 60, 30 * 24 * 3600),
  SESSION_IDLE_TTL: Seconds(3600, 60, 30 * 24 * 3600),
  REFRESH_TOKEN_TTL: Seconds(30 * 24 * 3600, 60, 365 * 24 * 3600),
  REFRESH_TOKEN_IDLE_TTL: Seconds(7 * 24 * 3600, 60, 365 * 24 * 3600),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: Type.Integer({ default: 5, minimum: 1, maximum: 1000 }),
  LOGIN_MAX_FAILURES_PER_ADDRESS: Type.Integer({ default: 20, minimum: 1, maximum: 100_000 }),
  LOGIN_FAILURE_WINDOW: Seconds(900, 10, 24 * 3600),
  EVENT_RETENTION_DAYS: Type.Integer({ default: 365, minimum: 1, maximum: 36500 }),
  PURGE_INTERVAL: Seconds(60, 0, 24 * 3600),
  PURGE_DUTY: Type.Number({ default: 0.1, exclusiveMinimum: 0, maximum: 1 }),
  // OpenTelemetry's own variable names (README "Traces"): an operator sets them as for any other
  // OTel SDK. Traces are off unless one of the two endpoints is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://' })),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://' })),
  OTEL_EXPORTER_OTLP_PROTOCOL: Type.Optional(OtlpProtocol),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Type.Optional(OtlpProtocol),
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  OTEL_SDK_DISABLED: Type.Boolean({ default: false })
}, { additionalProperties: true })

export type Env = Static<typeof EnvSchema>

/** The typed, validated configuration the app is built from. */
export interface Config {
  port: number
  host: string
  /** Where Prometheus scrapes `/metrics` (on `host`); undefined: no metrics listener. */
  metricsPort?: number
  /** Origin and optional path prefix, without a trailing slash. */
  publicUrl: string
  baseDomain: string
  /** Undefined means the embedded PGlite database under dataDir. */
  databaseUrl?: string
  /** Unset: each instance counts its rate limits in memory. Set: the counters live in this Redis, shared by all instances. */
  redisUrl?: string
  /** Prefix of every Redis key, so that deployments may share one Redis. */
  redisKeyPrefix: string
  dataDir: string
  /**
   * Where the embedded database runs its SQL: 'worker', a thread of its own, so that a slow
   * statement does not stall the event loop; 'main', the event loop's thread (as before, for
   * comparison). Unused with DATABASE_URL.
   */
  embeddedDbThread: 'worker' | 'main'
  logLevel: string
  adminTokenTtl: number
  userTokenTtl: number
  signingAlg: 'ES256' | 'RS256' | 'EdDSA'
  /**
   * 32 bytes each; the first encrypts, every one decrypts (a rotation, docs/operations.md). Undefined
   * means "read or create DATA_DIR/secret.key" (embedded default only).
   */
  secretEncryptionKeys?: Buffer[]
  accessTokenAudience: string
  keyPublishDelay: number
  /**
   * Seconds from the newest signing key's activation until the scheduled rotation publishes its
   * successor (services/signing-keys.ts rotateSigningKeyIfDue); 0: no scheduled rotation.
   */
  signingKeyRotationInterval: number
  migrateOnStart: boolean
  bootstrap: 'auto' | 'true' | 'false'
  bootstrapOrg: string
  bootstrapAdminEmail: string
  dbPoolMax: number
  /** The REST lists' own pool (PostgreSQL): admin searches never take the token endpoint's connections. */
  adminDbPoolMax: number
  /** statement_timeout of that pool's connections, ms (0: none); a list that hits it is a 503. */
  adminStatementTimeoutMs: number
  /** The share of wall time each admin-pool connection may be busy (src/db/duty-pool.ts). */
  adminDbDuty: number
  bodyLimit: number
  shutdownTimeout: number
  /** Seconds between SIGTERM and closing, while /health/ready answers 503 so that load balancers stop sending. */
  shutdownGrace: number
  /** Past this mean event-loop delay (ms) new requests get 503; 0: not checked. */
  overloadMaxEventLoopDelayMs: number
  /** Past this V8 heap in use (bytes) new requests get 503; 0: not checked. */
  overloadMaxHeapUsedBytes: number
  /**
   * Which hops of X-Forwarded-For to trust, in fastify's `trustProxy` forms: false (none), a hop
   * count, or the proxies' addresses and CIDRs (`loopback`, `linklocal`, `uniquelocal` allowed).
   */
  trustProxy: false | number | string[]
  /** Clock skew allowed on assertion times, seconds. */
  assertionLeeway: number
  /** How far ahead an assertion's exp may lie, seconds (plus the leeway). */
  assertionMaxLifetime: number
  /** Accepted `aud` values besides the org's own token URL and issuer. */
  assertionAudiences: string[]
  requireJti: boolean
  /** Token requests per minute per client and per source address; 0 turns the limit off. */
  tokenRateLimitPerMinute: number
  /** Lifetime of an authorization code, seconds. */
  authCodeTtl: number
  /** Browser session: absolute lifetime, and how long it lasts unused, seconds. */
  sessionTtl: number
  sessionIdleTtl: number
  /** Refresh-token family: absolute lifetime, and how long one token lasts unused, seconds. */
  refreshTokenTtl: number
  refreshTokenIdleTtl: number
  /** Failed sign-ins allowed per account and per source address within the window (seconds). */
  loginMaxFailuresPerAccount: number
  loginMaxFailuresPerAddress: number
  loginFailureWindow: number
  /** Days an audit event is kept (the purge deletes older ones). */
  eventRetentionDays: number
  /** Seconds between purges of expired rows (one instance at a time runs each); 0: this instance never purges. */
  purgeInterval: number
  /** The share of wall time a purge may spend in its delete statements (services/purge.ts); 1: no pause. */
  purgeDuty: number
  /** Where spans are exported (OTLP over HTTP); undefined: tracing is off and no OTel SDK is loaded. */
  tracing?: TracingConfig
}

/** The OTLP trace exporter's settings, from OpenTelemetry's standard variables. */
export interface TracingConfig {
  /** The full URL spans are POSTed to (`.../v1/traces`). */
  url: string
  protocol: 'http/protobuf' | 'http/json'
  /** The resource's `service.name`; undefined: `service.name` from OTEL_RESOURCE_ATTRIBUTES, else `aoc-auth-server`. */
  serviceName?: string
}

/** The token URLs that real AoC clients put in an assertion's `aud` (docs/aoc-compatibility.md §3): ASSERTION_AUDIENCES' default. */
export const AOC_TOKEN_AUDIENCES: readonly string[] = Object.freeze([
  'https://api.asperafiles.com/api/v1/oauth2/token',
  'https://api.ibmaspera.com/api/v1/oauth2/token'
])

/** The longest lifetime an access token may have: how long a retired key must stay published. */
export function maxAccessTokenTtl (config: Pick<Config, 'adminTokenTtl' | 'userTokenTtl'>): number {
  return Math.max(config.adminTokenTtl, config.userTokenTtl)
}

/**
 * The least SIGNING_KEY_ROTATION_INTERVAL other than 0: the longest access-token lifetime plus the
 * retired key's margin, that is how long a key stays published after its successor begins to sign.
 * The interval is counted from that beginning, so at or above this bound the key before is gone
 * from the JWKS before the next one is published: the schedule never publishes more than two keys
 * at once. Below it, every rotation would add a key before the oldest left, and a short interval
 * would fill the JWKS with keys that no longer sign.
 */
export function leastRotationInterval (config: Pick<Config, 'adminTokenTtl' | 'userTokenTtl'>): number {
  return maxAccessTokenTtl(config) + RETIRED_KEY_MARGIN_SECONDS
}

/** SIGNING_KEY_ROTATION_INTERVAL, checked against the token lifetimes (leastRotationInterval). */
function parseRotationInterval (e: Env): number {
  const interval = e.SIGNING_KEY_ROTATION_INTERVAL
  const least = leastRotationInterval({ adminTokenTtl: e.ADMIN_TOKEN_TTL, userTokenTtl: e.USER_TOKEN_TTL })
  if (interval !== 0 && interval < least) {
    throw new ConfigError('SIGNING_KEY_ROTATION_INTERVAL', `Invalid configuration: SIGNING_KEY_ROTATION_INTERVAL must be 0 (off) or at least ${least} ` +
      `(the longest access-token lifetime, ${least - RETIRED_KEY_MARGIN_SECONDS} s, plus ${RETIRED_KEY_MARGIN_SECONDS} s: how long a retired key stays published), ` +
      `or a rotation would publish a key before the one retired last has left the JWKS; got ${JSON.stringify(String(interval))}`)
  }
  return interval
}

/** The names proxy-addr (under fastify's trustProxy) knows for address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** One trusted proxy: an address, an address/prefix, or a range name. */
function isProxyAddress (entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true
  const [address, prefix, extra] = entry.split('/')
  const family = isIP(address ?? '')
  if (family === 0 || extra !== undefined) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

/**
 * TRUST_PROXY: `false` or `0`, a hop count, or a comma-separated list of the proxies' addresses.
 * `true` is refused: it trusts every hop, so the leftmost X-Forwarded-For address, which the client
 * writes itself, would be the one rate-limited (docs/security.md).
 */
export function parseTrustProxy (value: string): false | number | string[] {
  const v = value.trim()
  if (v === 'false' || v === '0') return false
  if (/^true$/i.test(v)) {
    throw new ConfigError('TRUST_PROXY', 'Invalid configuration: TRUST_PROXY=true would trust every X-Forwarded-For hop, so a client could choose ' +
      'the address that is rate-limited. Give the hop count of the proxies in front of the server (e.g. TRUST_PROXY=1 behind one load balancer) ' +
      'or their addresses or CIDRs (e.g. TRUST_PROXY=10.0.0.0/8,127.0.0.1)')
  }
  if (/^[1-9][0-9]?$/.test(v)) return Number(v)
  const entries = v.split(',').map((e) => e.trim())
  const bad = entries.find((e) => !isProxyAddress(e))
  if (bad !== undefined) {
    throw new ConfigError('TRUST_PROXY', `Invalid configuration: TRUST_PROXY must be false, a hop count (1 to 99), or comma-separated proxy addresses or CIDRs; ${JSON.stringify(bad)} is none of these`)
  }
  return entries
}

/** 32 bytes in base64 (43 characters and one `=`) or base64url (43, the `=` optional); Buffer decodes either alphabet. */
const KEY_TEXT = /^[A-Za-z0-9+/_-]{43}=?$/

/**
 * SECRET_ENCRYPTION_KEY: one key, or a comma-separated list while the key rotates (docs/operations.md):
 * the first encrypts, every one decrypts. Each entry is 32 bytes, base64 or base64url; blanks around
 * an entry are ignored. An empty entry, a malformed one and the same key twice are refused; the message
 * names the entry by its place in the list, never by its value.
 */
export function parseSecretEncryptionKeys (value: string): Buffer[] {
  const V = 'SECRET_ENCRYPTION_KEY'
  const entries = value.split(',').map((entry) => entry.trim())
  const which = (i: number) => entries.length > 1 ? ` (entry ${i + 1} of ${entries.length})` : ''
  const keys: Buffer[] = []
  entries.forEach((entry, i) => {
    if (entry === '') {
      throw new ConfigError(V, `Invalid configuration: ${V} has an empty entry${which(i)}: separate the keys with single commas, with none at either end`)
    }
    const key = KEY_TEXT.test(entry) ? Buffer.from(entry, 'base64') : undefined
    if (key?.length !== 32) {
      throw new ConfigError(V, `Invalid configuration: ${V} must be 32 bytes, base64 or base64url encoded${which(i)} (openssl rand -base64 32)`)
    }
    const same = keys.findIndex((k) => k.equals(key))
    if (same >= 0) throw new ConfigError(V, `Invalid configuration: ${V} lists the same key twice (entries ${same + 1} and ${i + 1}): list each key once`)
    keys.push(key)
  })
  return keys
}

/**
 * The exporter's settings (README "Traces"), read as every OpenTelemetry SDK reads these variables,
 * so one set of them serves all of an operator's services: the traces endpoint is used as it is,
 * the general one gets `v1/traces` appended; the traces protocol wins; http/protobuf by default.
 * gRPC is refused rather than mapped to HTTP: a collector's gRPC port (4317) does not answer
 * OTLP/HTTP, so a silent mapping would export nothing.
 */
function parseTracing (e: Env): TracingConfig | undefined {
  if (e.OTEL_SDK_DISABLED) return undefined
  let url = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  if (url === undefined && e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined) {
    url = e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/*$/, '/') + 'v1/traces'
  }
  if (url === undefined) return undefined
  const variable = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf'
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ConfigError(variable, `Invalid configuration: ${variable}=grpc is not supported: traces are exported over OTLP/HTTP only. ` +
      'Set http/protobuf (the default) or http/json, and point the endpoint at the collector\'s HTTP port (4318 by default)')
  }
  try {
    url = new URL(url).toString()
  } catch {
    const which = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'
    throw new ConfigError(which, `Invalid configuration: ${which} is not a URL`)
  }
  return { url, protocol, serviceName: e.OTEL_SERVICE_NAME }
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: false })
addFormats(ajv)
const validateEnv = ajv.compile(EnvSchema)

// Values a message must not repeat: a key, and URLs that may carry a password in their user info.
const HIDDEN_VALUES = new Set(['SECRET_ENCRYPTION_KEY', 'DATABASE_URL', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'])

/** Reads and validates the configuration; throws a ConfigError naming the first bad variable. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') input[key] = value
  }
  if (!validateEnv(input)) {
    const err = validateEnv.errors?.[0]
    const variable = (err?.instancePath.replace(/^\//, '') || String(err?.params?.missingProperty ?? '')) || 'environment'
    const shown = HIDDEN_VALUES.has(variable) ? '(value hidden)' : JSON.stringify(env[variable])
    // For a choice, ajv reports the first branch ("must be equal to constant"), which misleads; list the choices.
    const choices = (EnvSchema.properties as Record<string, { anyOf?: Array<{ const?: unknown }> }>)[variable]?.anyOf?.map((s) => s.const)
    const why = choices ? `must be one of ${choices.join(', ')}` : err?.message ?? 'is invalid'
    throw new ConfigError(variable, `Invalid configuration: ${variable} ${why}, got ${shown}`)
  }
  const e = input as Env
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '')
  let url: URL
  try {
    url = new URL(publicUrl)
  } catch {
    // ajv's "uri" format lets "http://" through; URL does not.
    throw new ConfigError('PUBLIC_URL', `Invalid configuration: PUBLIC_URL is not a URL, got ${JSON.stringify(e.PUBLIC_URL)}`)
  }
  if (url.search || url.hash) throw new ConfigError('PUBLIC_URL', 'Invalid configuration: PUBLIC_URL must not carry a query or fragment')
  let secretEncryptionKeys: Buffer[] | undefined
  if (e.SECRET_ENCRYPTION_KEY) {
    secretEncryptionKeys = parseSecretEncryptionKeys(e.SECRET_ENCRYPTION_KEY)
  } else if (e.DATABASE_URL) {
    throw new ConfigError('SECRET_ENCRYPTION_KEY', 'Invalid configuration: SECRET_ENCRYPTION_KEY is required with DATABASE_URL (32 random bytes, base64: openssl rand -base64 32)')
  }
  if (e.REDIS_URL !== undefined && !URL.canParse(e.REDIS_URL)) {
    throw new ConfigError('REDIS_URL', 'Invalid configuration: REDIS_URL is not a URL (redis://host:6379 or rediss://…)')
  }
  return {
    port: e.PORT,
    host: e.HOST,
    metricsPort: e.METRICS_PORT,
    publicUrl,
    baseDomain: e.BASE_DOMAIN ?? url.host,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedDbThread: e.EMBEDDED_DB_THREAD,
    logLevel: e.LOG_LEVEL,
    adminTokenTtl: e.ADMIN_TOKEN_TTL,
    userTokenTtl: e.USER_TOKEN_TTL,
    signingAlg: e.SIGNING_ALG,
    secretEncryptionKeys,
    accessTokenAudience: e.ACCESS_TOKEN_AUDIENCE ?? `${publicUrl}/api/v1`,
    keyPublishDelay: e.KEY_PUBLISH_DELAY,
    signingKeyRotationInterval: parseRotationInterval(e),
    migrateOnStart: e.MIGRATE_ON_START,
    bootstrap: e.BOOTSTRAP,
    bootstrapOrg: e.BOOTSTRAP_ORG,
    bootstrapAdminEmail: e.BOOTSTRAP_ADMIN_EMAIL,
    dbPoolMax: e.DB_POOL_MAX,
    adminDbPoolMax: e.ADMIN_DB_POOL_MAX,
    adminStatementTimeoutMs: e.ADMIN_STATEMENT_TIMEOUT_MS,
    adminDbDuty: e.ADMIN_DB_DUTY,
    bodyLimit: e.BODY_LIMIT,
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
    shutdownGrace: e.SHUTDOWN_GRACE,
    overloadMaxEventLoopDelayMs: e.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
    overloadMaxHeapUsedBytes: e.OVERLOAD_MAX_HEAP_USED_BYTES,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    assertionLeeway: e.ASSERTION_LEEWAY,
    assertionMaxLifetime: e.ASSERTION_MAX_LIFETIME,
    assertionAudiences: e.ASSERTION_AUDIENCES
      ? e.ASSERTION_AUDIENCES.split(',').map((a) => a.trim()).filter(Boolean)
      : [...AOC_TOKEN_AUDIENCES],
    requireJti: e.REQUIRE_JTI,
    tokenRateLimitPerMinute: e.TOKEN_RATE_LIMIT_PER_MINUTE,
    authCodeTtl: e.AUTH_CODE_TTL,
    sessionTtl: e.SESSION_TTL,
    sessionIdleTtl: e.SESSION_IDLE_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    refreshTokenIdleTtl: e.REFRESH_TOKEN_IDLE_TTL,
    loginMaxFailuresPerAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    loginMaxFailuresPerAddress: e.LOGIN_MAX_FAILURES_PER_ADDRESS,
    loginFailureWindow: e.LOGIN_FAILURE_WINDOW,
    eventRetentionDays: e.EVENT_RETENTION_DAYS,
    purgeInterval: e.PURGE_INTERVAL,
    purgeDuty: e.PURGE_DUTY,
    tracing: parseTracing(e)
  }
}
