// Shared rate limits (issue 11, item 2; docs/cluster.md "Shared rate limits"): with REDIS_URL, two
// instances count the token endpoint's limits in one Redis, so a client limited to 60 a minute gets
// 60 in all, not 60 from each; per address, each address is counted on its own across both. While
// Redis is away (killed, or stopped and silent) the limits fail open with one warning a minute, and
// /health/ready says degraded; when it is back, counting resumes.
// The shared Redis (TEST_REDIS_URL, default 127.0.0.1:6379) is only ever written under a random
// key prefix; the outage tests kill a redis-server of their own, never the shared one.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { rateLimitStoreErrors } from '../../src/metrics.js'
import { buildAppForTest, memoryLogger, newOrg, pem, testConfig } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { testDb } from '../helpers/db.js'
import { FORM } from '../helpers/oauth.js'
import { freePort, start } from '../helpers/process.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const required = process.env.REQUIRE_REDIS === '1' || process.env.REQUIRE_REDIS === 'true'
const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function answers (url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(50)
  }
}

t.test('REDIS_URL must be a redis:// or rediss:// URL', async (t) => {
  for (const bad of ['http://127.0.0.1:6379', '127.0.0.1:6379', 'redis://', 'redis://a b']) {
    t.throws(() => loadConfig({ REDIS_URL: bad }), { name: 'ConfigError', variable: 'REDIS_URL' }, bad)
  }
  t.throws(() => loadConfig({ REDIS_KEY_PREFIX: 'has space' }), { name: 'ConfigError', variable: 'REDIS_KEY_PREFIX' })
  t.equal(loadConfig({ REDIS_URL: 'rediss://user:pw@cache.example:6380/2' }).redisUrl, 'rediss://user:pw@cache.example:6380/2')
  t.equal(loadConfig({}).redisUrl, undefined, 'unset: each instance counts on its own')
})

// One database for the file: no test here counts on a table of its own (each pair has a fresh key
// prefix, each test its own addresses, organization or Redis).
const handle = await testDb()
t.teardown(async () => { await handle.close() })

const redisHere = await answers(REDIS_URL)
if (!redisHere && !required) {
  t.comment(`no Redis answers at ${REDIS_URL}: the shared-limit tests are skipped (REQUIRE_REDIS=1 makes this a failure)`)
} else {
  t.ok(redisHere, `Redis answers at ${REDIS_URL}`)

  /** Two instances on one database and one Redis, with a fresh key prefix (nothing counted yet). */
  const pair = async (env: Record<string, string>) => {
    const config = testConfig({ REDIS_URL, REDIS_KEY_PREFIX: `test-${randomBytes(6).toString('hex')}:`, ...env })
    const a = await buildAppForTest({ config, db: handle })
    const b = await buildAppForTest({ config, db: handle })
    t.teardown(async () => { await a.close(); await b.close() })
    return { a, b, config }
  }

  t.test('a client limited to 60 a minute gets 60 in all through two instances', async (t) => {
    const { a, b } = await pair({ TOKEN_RATE_LIMIT_PER_MINUTE: '60' })
    const org = await newOrg({ app: a, handle, config: testConfig() })
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const { user } = await org.newUser({ public_key: pem(key.publicKey) })
    const statuses: Record<string, number> = {}
    const byInstance = { a: 0, b: 0 }
    for (let i = 0; i < 100; i++) {
      const app = i % 2 === 0 ? a : b
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/oauth2/${org.orgName}/token`,
        headers: FORM,
        // A different address each time: only the client's own limit can refuse.
        remoteAddress: `10.1.${i >> 8}.${i & 255}`,
        payload: ascliForm(org.clientId, await ascliAssertion(key.privateKey, org.clientId, user.email, org.orgName))
      })
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
      if (res.statusCode === 200) byInstance[i % 2 === 0 ? 'a' : 'b']++
      if (res.statusCode === 429) t.ok(Number(res.headers['retry-after']) >= 1, 'a 429 says when to come back')
    }
    t.same(statuses, { 200: 60, 429: 40 }, '60 tokens in all, the other 40 refused')
    t.ok(byInstance.a > 0 && byInstance.b > 0, `both instances issued some (${byInstance.a} + ${byInstance.b})`)
    t.comment(`shared client limit 60/min over two instances: ${statuses[200]} issued (A ${byInstance.a}, B ${byInstance.b}), ${statuses[429]} refused`)
  })

  t.test('per address: each address gets its own 60 across both instances', async (t) => {
    const { a, b } = await pair({ TOKEN_RATE_LIMIT_PER_MINUTE: '60' })
    const counts: Record<string, Record<number, number>> = {}
    for (let i = 0; i < 160; i++) {
      const address = i % 4 < 2 ? '192.0.2.1' : '192.0.2.2'
      const res = await (i % 2 === 0 ? a : b).inject({
        method: 'POST', url: '/api/v1/oauth2/no-such-org/token', headers: FORM, remoteAddress: address, payload: 'grant_type=password'
      })
      const seen = counts[address] ??= {}
      seen[res.statusCode === 429 ? 429 : 0] = (seen[res.statusCode === 429 ? 429 : 0] ?? 0) + 1
    }
    t.same(counts, { '192.0.2.1': { 0: 60, 429: 20 }, '192.0.2.2': { 0: 60, 429: 20 } }, '60 answered per address, then 429')
  })

  t.test('Redis away: the limits fail open with one warning a minute, then resume', async (t) => {
    const port = await freePort()
    const redisServer = () => start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {})
    let server = redisServer()
    t.teardown(() => { server.child.kill('SIGKILL') })
    const ownUrl = `redis://127.0.0.1:${port}`
    await until('the test redis-server answers', async () => await answers(ownUrl))
    const { logger, lines } = memoryLogger('info')
    const config = testConfig({ REDIS_URL: ownUrl, TOKEN_RATE_LIMIT_PER_MINUTE: '5' })
    const app = await buildAppForTest({ config, db: handle, logger })
    t.teardown(async () => { await app.close() })
    const send = async () => await app.inject({ method: 'POST', url: '/api/v1/oauth2/no-such-org/token', headers: FORM, remoteAddress: '198.51.100.7', payload: 'grant_type=password' })
    const ready = async () => (await app.inject({ method: 'GET', url: '/health/ready' })).json()
    t.match(await ready(), { status: 'ok', redis: 'up' })

    const before = await Promise.all(Array.from({ length: 7 }, send))
    t.same(before.map((r) => r.statusCode === 429), [false, false, false, false, false, true, true], 'counted in Redis: 5, then 429')

    server.child.kill('SIGKILL')
    await server.done
    await until('the app sees Redis gone', () => app.ctx.redis?.up() === false)
    const errorsBefore = (await rateLimitStoreErrors.get()).values[0]?.value ?? 0
    const started = performance.now()
    const during = []
    for (let i = 0; i < 20; i++) during.push((await send()).statusCode)
    const ms = performance.now() - started
    t.notOk(during.includes(429), 'no request is refused while the counters are out of reach (fail open)')
    t.ok(ms < 5000, `20 requests answered in ${ms.toFixed(0)} ms: none waits for Redis`)
    t.equal(((await rateLimitStoreErrors.get()).values[0]?.value ?? 0) - errorsBefore, 20, 'aoc_rate_limit_store_errors_total counts each')
    const warnings = lines.map((l) => JSON.parse(l) as { level: number, msg: string }).filter((l) => l.level === 40 && /Redis/.test(l.msg))
    t.equal(warnings.length, 1, 'one warning for the lost connection and twenty failed counts')
    t.match(await ready(), { status: 'degraded', redis: 'down' }, 'ready: still 200, degraded')

    server = redisServer()
    await until('the app reconnects to Redis', () => app.ctx.redis?.up() === true, 30_000)
    t.ok(lines.some((l) => /Redis answers/.test(l)), 'the reconnection is logged')
    t.match(await ready(), { status: 'ok', redis: 'up' })
    const after = await Promise.all(Array.from({ length: 6 }, send))
    t.equal(after.filter((r) => r.statusCode === 429).length, 1, 'counting resumed in the new Redis: 5 answered, the 6th refused')
  })

  t.test('a Redis that accepts but never answers: each count gives up after 500 ms and the request goes on', async (t) => {
    const port = await freePort()
    const server = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {})
    t.teardown(() => { server.child.kill('SIGCONT'); server.child.kill('SIGKILL') })
    const ownUrl = `redis://127.0.0.1:${port}`
    await until('the test redis-server answers', async () => await answers(ownUrl))
    const app = await buildAppForTest({ config: testConfig({ REDIS_URL: ownUrl, TOKEN_RATE_LIMIT_PER_MINUTE: '5' }), db: handle })
    t.teardown(async () => { await app.close() })
    server.child.kill('SIGSTOP')
    const errorsBefore = (await rateLimitStoreErrors.get()).values[0]?.value ?? 0
    const started = performance.now()
    // Without the command timeout this would wait for as long as Redis is stopped (the file's timeout).
    const res = await app.inject({ method: 'POST', url: '/api/v1/oauth2/no-such-org/token', headers: FORM, payload: 'grant_type=password' })
    const ms = performance.now() - started
    t.not(res.statusCode, 429)
    t.not(res.statusCode, 500)
    t.ok(ms >= 450, `answered once the 500 ms command timeout had passed (${ms.toFixed(0)} ms)`)
    t.equal(((await rateLimitStoreErrors.get()).values[0]?.value ?? 0) - errorsBefore, 1, 'the timed-out count is counted as a store error')
  })
}

// A connection refused at start does not stop the server: it starts, fails open, and says so.
t.test('REDIS_URL that nothing answers at start: the server starts, degraded', async (t) => {
  const port = await freePort() // nothing listens there
  const app = await buildAppForTest({ config: testConfig({ REDIS_URL: `redis://127.0.0.1:${port}` }), db: handle })
  t.teardown(async () => { await app.close() })
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { status: 'degraded', redis: 'down' })
})
