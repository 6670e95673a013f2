import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

const KEY = Buffer.alloc(32, 7).toString('base64')
type Tap = Pick<typeof t, 'fail'>
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname))

/** The ConfigError loadConfig throws for `env`, or a failed assertion when it throws nothing or something else. */
function refusal (t: Tap, env: Record<string, string>): ConfigError | undefined {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    t.fail(`${JSON.stringify(env)} threw ${String(err)}, not a ConfigError`)
    return undefined
  }
  t.fail(`${JSON.stringify(env)} was accepted`)
  return undefined
}

t.test('defaults', async (t) => {
  const c = loadConfig({})
  t.match(c, {
    port: 3000,
    host: '127.0.0.1',
    publicUrl: 'http://localhost:3000',
    baseDomain: 'localhost:3000',
    databaseUrl: undefined,
    dataDir: path.resolve('./data'),
    logLevel: 'info',
    adminTokenTtl: 1800,
    userTokenTtl: 3600,
    signingAlg: 'ES256',
    secretEncryptionKeys: undefined,
    accessTokenAudience: 'http://localhost:3000/api/v1',
    keyPublishDelay: 600,
    signingKeyRotationInterval: 90 * 24 * 3600,
    migrateOnStart: true,
    bootstrap: 'auto',
    bootstrapOrg: 'demo',
    bootstrapAdminEmail: 'admin@example.com',
    dbPoolMax: 10,
    bodyLimit: 65536,
    shutdownTimeout: 10,
    shutdownGrace: 5,
    overloadMaxEventLoopDelayMs: 1000,
    overloadMaxHeapUsedBytes: 0,
    trustProxy: false
  })
  t.same(loadConfig({ PORT: '' }).port, 3000, 'an empty variable counts as unset')
})

t.test('values are parsed and typed', async (t) => {
  const c = loadConfig({
    PORT: '8080',
    LOG_LEVEL: 'debug',
    MIGRATE_ON_START: 'false',
    TRUST_PROXY: '2',
    SIGNING_ALG: 'EdDSA',
    DATABASE_URL: 'postgresql://u:pw@db/aoc',
    SECRET_ENCRYPTION_KEY: KEY,
    BOOTSTRAP_ORG: 'acme-1'
  })
  t.match(c, { port: 8080, logLevel: 'debug', migrateOnStart: false, trustProxy: 2, signingAlg: 'EdDSA', databaseUrl: 'postgresql://u:pw@db/aoc', bootstrapOrg: 'acme-1' })
  t.same(c.secretEncryptionKeys, [Buffer.alloc(32, 7)])
  const url = loadConfig({ SECRET_ENCRYPTION_KEY: Buffer.alloc(32, 0xfb).toString('base64url') })
  t.same(url.secretEncryptionKeys, [Buffer.alloc(32, 0xfb)], 'base64url is accepted too')
})

t.test('SECRET_ENCRYPTION_KEY takes a comma-separated list, in order: the first encrypts', async (t) => {
  const [a, b, c] = [Buffer.alloc(32, 1), Buffer.alloc(32, 0xfb), Buffer.alloc(32, 3)]
  const keys = (value: string) => loadConfig({ SECRET_ENCRYPTION_KEY: value }).secretEncryptionKeys
  t.same(keys(`${a.toString('base64')},${b.toString('base64')}`), [a, b])
  t.same(keys(`${b.toString('base64url')},${a.toString('base64')},${c.toString('base64url')}`), [b, a, c], 'the two encodings mixed, order kept')
  t.same(keys(` ${a.toString('base64')} , ${b.toString('base64url')}\n`), [a, b], 'blanks around an entry are ignored')
  t.same(keys(a.toString('base64url') + '='), [a], 'base64url with its padding')
})

t.test('a bad SECRET_ENCRYPTION_KEY list is refused naming the variable and the entry, never a key', async (t) => {
  const [a, b] = [Buffer.alloc(32, 0x41).toString('base64'), Buffer.alloc(32, 0x42).toString('base64')]
  const cases: Array<[string, string, RegExp]> = [
    [`${a},,${b}`, 'an empty entry between two', /has an empty entry \(entry 2 of 3\)/],
    [`${a},`, 'a trailing comma', /has an empty entry \(entry 2 of 2\)/],
    [`,${a}`, 'a leading comma', /has an empty entry \(entry 1 of 2\)/],
    [`${a}, ,${b}`, 'a blank entry', /has an empty entry \(entry 2 of 3\)/],
    [`${a},${Buffer.alloc(16, 1).toString('base64')}`, 'a 16-byte key', /must be 32 bytes, base64 or base64url encoded \(entry 2 of 2\)/],
    [`${Buffer.alloc(33, 1).toString('base64url')},${a}`, 'a 33-byte key', /must be 32 bytes.*\(entry 1 of 2\)/],
    [`${a},${b.slice(0, -2)}`, 'a key cut short', /must be 32 bytes.*\(entry 2 of 2\)/],
    [`${a},${'!'.repeat(44)}`, 'not base64', /must be 32 bytes.*\(entry 2 of 2\)/],
    [`${a},${Buffer.alloc(32, 0x41).toString('hex')}`, 'hex, not base64', /must be 32 bytes.*\(entry 2 of 2\)/],
    [`${a};${b}`, 'another separator', /must be 32 bytes/],
    [`${a},${b},${a}`, 'the same key twice', /lists the same key twice \(entries 1 and 3\)/],
    [`${a},${Buffer.alloc(32, 0x41).toString('base64url')}`, 'the same key in the other encoding', /lists the same key twice \(entries 1 and 2\)/]
  ]
  for (const [value, why, message] of cases) {
    const err = refusal(t, { SECRET_ENCRYPTION_KEY: value, DATABASE_URL: 'postgres://db/aoc' })
    if (!err) continue
    t.equal(err.variable, 'SECRET_ENCRYPTION_KEY', `${why}: the variable`)
    t.match(err.message, /^Invalid configuration: SECRET_ENCRYPTION_KEY /, `${why}: named first`)
    t.match(err.message, message, why)
    for (const key of [a, b]) t.notMatch(err.message, key.slice(0, 20), `${why}: no key in the message`)
  }
})

t.test('PUBLIC_URL: trailing slash removed; the audience follows it unless set', async (t) => {
  const c = loadConfig({ PUBLIC_URL: 'https://auth.example.com/prefix/' })
  t.equal(c.publicUrl, 'https://auth.example.com/prefix')
  t.equal(c.accessTokenAudience, 'https://auth.example.com/prefix/api/v1')
  t.equal(c.baseDomain, 'auth.example.com')
  t.equal(loadConfig({ PUBLIC_URL: 'https://auth.example.com//' }).publicUrl, 'https://auth.example.com')
  t.equal(loadConfig({ PUBLIC_URL: 'https://a.example.com', ACCESS_TOKEN_AUDIENCE: 'urn:aud' }).accessTokenAudience, 'urn:aud')
})

t.test('each bad value is refused with a ConfigError naming the variable', async (t) => {
  const cases: Array<[string, string, string]> = [
    // [variable, bad value, what it gets]
    ['PORT', 'abc', 'not an integer'],
    ['PORT', '70000', 'above 65535'],
    ['PORT', '-1', 'below 0'],
    ['PUBLIC_URL', 'ftp://x', 'not http(s)'],
    ['PUBLIC_URL', 'http://', 'not a URL at all'],
    ['PUBLIC_URL', 'https://a.example.com/?x=1', 'a query string'],
    ['LOG_LEVEL', 'loud', 'not a pino level'],
    ['ADMIN_TOKEN_TTL', '0', 'below 60 s'],
    ['ADMIN_TOKEN_TTL', '90000', 'above a day'],
    ['USER_TOKEN_TTL', 'soon', 'not a number'],
    ['SIGNING_ALG', 'HS256', 'a symmetric algorithm'],
    ['SECRET_ENCRYPTION_KEY', Buffer.alloc(16, 1).toString('base64'), '16 bytes'],
    ['SECRET_ENCRYPTION_KEY', Buffer.alloc(31, 1).toString('base64'), '31 bytes'],
    ['SECRET_ENCRYPTION_KEY', Buffer.alloc(33, 1).toString('base64url'), '33 bytes'],
    ['SECRET_ENCRYPTION_KEY', '!'.repeat(44), 'not base64'],
    ['DATABASE_URL', 'mysql://root:hunter2@db/aoc', 'not PostgreSQL'],
    ['BOOTSTRAP', 'maybe', 'not auto/true/false'],
    ['BOOTSTRAP_ORG', 'Bad_Name', 'not a DNS label'],
    ['BOOTSTRAP_ADMIN_EMAIL', 'nobody', 'not an e-mail'],
    ['MIGRATE_ON_START', 'perhaps', 'not a boolean'],
    ['TRUST_PROXY', 'sometimes', 'not a hop count or an address'],
    ['TRUST_PROXY', 'true', 'every hop'],
    ['DB_POOL_MAX', '0', 'below 1'],
    ['BODY_LIMIT', '10', 'below 1 KiB'],
    ['ASSERTION_LEEWAY', '-1', 'negative'],
    ['ASSERTION_MAX_LIFETIME', '10', 'below a minute'],
    ['REQUIRE_JTI', 'often', 'not a boolean'],
    ['TOKEN_RATE_LIMIT_PER_MINUTE', '-5', 'negative'],
    ['TOKEN_RATE_LIMIT_PER_MINUTE', 'lots', 'not a number'],
    ['METRICS_PORT', 'prometheus', 'not a port'],
    ['METRICS_PORT', '70000', 'above 65535'],
    ['EVENT_RETENTION_DAYS', '0', 'below a day'],
    ['KEY_PUBLISH_DELAY', '0', 'no publication before signing'],
    ['KEY_PUBLISH_DELAY', '4', 'below the instances\' key refresh bound (5 s)'],
    ['SIGNING_KEY_ROTATION_INTERVAL', '-1', 'negative'],
    ['SIGNING_KEY_ROTATION_INTERVAL', '3659', 'below the longest token lifetime plus a minute'],
    ['SIGNING_KEY_ROTATION_INTERVAL', '90d', 'not a number of seconds'],
    ['PURGE_DUTY', '0', 'a purge that never runs'],
    ['PURGE_DUTY', '1.5', 'above the whole time'],
    ['PURGE_DUTY', 'half', 'not a number'],
    ['ADMIN_DB_DUTY', '0', 'lists that never run'],
    ['ADMIN_DB_DUTY', '2', 'above the whole time'],
    ['SHUTDOWN_GRACE', '-1', 'negative'],
    ['SHUTDOWN_GRACE', '3600', 'above five minutes'],
    ['OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', 'slow', 'not a number'],
    ['OVERLOAD_MAX_EVENT_LOOP_DELAY_MS', '-1', 'negative'],
    ['OVERLOAD_MAX_HEAP_USED_BYTES', '1.5', 'not an integer'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', 'no scheme'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'ftp://collector/v1/traces', 'not http(s)'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http', 'not an OTLP protocol'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'json', 'not an OTLP protocol'],
    ['OTEL_SDK_DISABLED', 'yes', 'not a boolean'],
    ['OTEL_SERVICE_NAME', 'x'.repeat(256), 'longer than 255']
  ]
  for (const [variable, value, why] of cases) {
    // A valid key, so DATABASE_URL cases fail on their own value, not on the missing key.
    const env = { SECRET_ENCRYPTION_KEY: KEY, [variable]: value }
    const err = refusal(t, env)
    if (!err) continue
    t.equal(err.variable, variable, `${variable}=${why}: variable`)
    t.equal(err.code, 'ERR_CONFIG')
    t.match(err.message, new RegExp(`^Invalid configuration: ${variable}\\b`), `${variable}=${why}: message names it`)
  }
})

t.test('assertion settings: defaults and a configured audience list', async (t) => {
  const d = loadConfig({})
  t.equal(d.assertionLeeway, 60)
  t.equal(d.assertionMaxLifetime, 3600)
  t.equal(d.requireJti, false)
  t.equal(d.tokenRateLimitPerMinute, 1200)
  t.same(d.assertionAudiences, ['https://api.asperafiles.com/api/v1/oauth2/token', 'https://api.ibmaspera.com/api/v1/oauth2/token'])
  t.same(loadConfig({ ASSERTION_AUDIENCES: ' https://a.example/token , https://b.example ' }).assertionAudiences, ['https://a.example/token', 'https://b.example'])
})

t.test('traces: off without an endpoint; the endpoint and protocol as the OpenTelemetry SDKs read them', async (t) => {
  t.equal(loadConfig({}).tracing, undefined, 'off by default')
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'x' }).tracing, undefined, 'a protocol or a name alone turns nothing on')
  t.same(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing,
    { url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', serviceName: undefined }, 'the general endpoint gets v1/traces; protobuf by default')
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/prefix/' }).tracing?.url, 'https://otel.example.com/prefix/v1/traces', 'after its path, one slash')
  t.same(loadConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'auth-eu'
  }).tracing, { url: 'http://traces:9999/custom', protocol: 'http/json', serviceName: 'auth-eu' }, 'the traces variables win, their endpoint as it is')
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing, undefined, 'OTEL_SDK_DISABLED=true turns it off')
})

t.test('traces: grpc is refused, naming the variable that asked for it', async (t) => {
  const general = refusal(t, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })
  t.equal(general?.variable, 'OTEL_EXPORTER_OTLP_PROTOCOL')
  t.match(general?.message, /^Invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported.*http\/protobuf.*4318/)
  const own = refusal(t, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })
  t.equal(own?.variable, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
  t.equal(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).tracing, undefined, 'without an endpoint nothing is exported, so nothing is refused')
})

t.test('a choice lists the values allowed', async (t) => {
  t.match(refusal(t, { LOG_LEVEL: 'loud' })?.message, 'must be one of fatal, error, warn, info, debug, trace, silent, got "loud"')
  t.match(refusal(t, { SIGNING_ALG: 'HS256' })?.message, 'must be one of ES256, RS256, EdDSA')
})

t.test('DATABASE_URL without SECRET_ENCRYPTION_KEY is refused, naming SECRET_ENCRYPTION_KEY', async (t) => {
  const err = refusal(t, { DATABASE_URL: 'postgres://aoc:s3cr3t-pw@db/aoc' })
  t.equal(err?.variable, 'SECRET_ENCRYPTION_KEY')
  t.match(err?.message, /SECRET_ENCRYPTION_KEY is required with DATABASE_URL/)
  t.notMatch(err?.message, 's3cr3t-pw')
})

t.test('a message never shows SECRET_ENCRYPTION_KEY, DATABASE_URL or an OTLP endpoint', async (t) => {
  const secrets: Array<[Record<string, string>, string]> = [
    [{ SECRET_ENCRYPTION_KEY: 'c2VjcmV0LWtleS10b28tc2hvcnQ=' }, 'c2VjcmV0LWtleS10b28tc2hvcnQ'],
    [{ SECRET_ENCRYPTION_KEY: Buffer.alloc(31, 0x5a).toString('base64') }, Buffer.alloc(31, 0x5a).toString('base64').slice(0, 40)],
    [{ SECRET_ENCRYPTION_KEY: KEY, DATABASE_URL: 'mysql://root:hunter2@db/aoc' }, 'hunter2'],
    [{ SECRET_ENCRYPTION_KEY: 'x'.repeat(50), DATABASE_URL: 'postgres://root:hunter2@db/aoc' }, 'hunter2'],
    // A collector's URL may carry credentials in its user info too.
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'otlp://user:hunter2@collector' }, 'hunter2'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://user:hunter2@collector/v1/traces' }, 'hunter2']
  ]
  for (const [env, secret] of secrets) {
    const err = refusal(t, env)
    t.ok(err?.message, `${Object.keys(env).join('+')} refused`)
    t.notMatch(err?.message, secret, 'the value is not in the message')
    t.notMatch(err?.message, 'x'.repeat(20))
  }
})

t.test('the server refuses PORT=abc: non-zero exit, stderr names PORT', async (t) => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: 'abc', DATABASE_URL: '', DATA_DIR: '/nonexistent/never-created' }
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'server.ts')], { cwd: root, env, timeout: 60_000 })
  const err = await run.then(() => undefined, (e: { code?: number, stderr?: string }) => e)
  t.ok(err, 'the process fails')
  t.equal(err?.code, 78, 'exit code EX_CONFIG')
  t.match(err?.stderr, /PORT/)
  t.match(err?.stderr, /"abc"/)
  t.notMatch(err?.stderr, /at .*\.ts:\d+/, 'a message, not a stack trace')
})

t.test('the server refuses a SECRET_ENCRYPTION_KEY list with an empty entry: exit 78, stderr names the variable, not the keys', async (t) => {
  const key = Buffer.alloc(32, 0x5a).toString('base64')
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, SECRET_ENCRYPTION_KEY: `${key},,${key}`, DATABASE_URL: '', DATA_DIR: '/nonexistent/never-created' }
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'server.ts')], { cwd: root, env, timeout: 60_000 })
  const err = await run.then(() => undefined, (e: { code?: number, stderr?: string }) => e)
  t.equal(err?.code, 78, 'exit code EX_CONFIG')
  t.match(err?.stderr, /^Invalid configuration: SECRET_ENCRYPTION_KEY has an empty entry \(entry 2 of 3\)/m)
  t.notMatch(err?.stderr, key.slice(0, 20), 'no key in the message')
})

t.test('KEY_PUBLISH_DELAY: the key refresh bound is the least accepted', async (t) => {
  t.equal(loadConfig({ KEY_PUBLISH_DELAY: '5' }).keyPublishDelay, 5)
  t.throws(() => loadConfig({ KEY_PUBLISH_DELAY: '4' }), /^Invalid configuration: KEY_PUBLISH_DELAY must be >= 5, got "4"$/)
})

t.test('SIGNING_KEY_ROTATION_INTERVAL: 0 turns it off; otherwise at least the longest token lifetime plus a minute', async (t) => {
  t.equal(loadConfig({ SIGNING_KEY_ROTATION_INTERVAL: '0' }).signingKeyRotationInterval, 0)
  t.equal(loadConfig({ SIGNING_KEY_ROTATION_INTERVAL: '3660' }).signingKeyRotationInterval, 3660, 'USER_TOKEN_TTL 3600 + 60')
  t.throws(() => loadConfig({ SIGNING_KEY_ROTATION_INTERVAL: '3659' }),
    /^Invalid configuration: SIGNING_KEY_ROTATION_INTERVAL must be 0 \(off\) or at least 3660 \(the longest access-token lifetime, 3600 s, plus 60 s/)
  t.equal(loadConfig({ SIGNING_KEY_ROTATION_INTERVAL: '1860', USER_TOKEN_TTL: '600' }).signingKeyRotationInterval, 1860, 'ADMIN_TOKEN_TTL 1800 is then the longest')
  t.throws(() => loadConfig({ SIGNING_KEY_ROTATION_INTERVAL: '7200', ADMIN_TOKEN_TTL: '86400' }), /at least 86460 /)
  t.throws(() => loadConfig({ SIGNING_KEY_ROTATION_INTERVAL: String(11 * 365 * 24 * 3600) }), /must be <= 315360000/, 'ten years at most')
})
