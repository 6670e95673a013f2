// Several instances behind HAProxy (issue 11, item 8; README "Running several instances"): three
// server processes on one PostgreSQL database, behind Debian's HAProxy on loopback running
// deploy/haproxy.cfg (the file docker-compose.cluster.yml mounts) with only its addresses changed.
// Under a steady JWT-bearer token load through the balancer, one instance gets SIGKILL: the only
// requests that may fail are those it had been sent and had not answered when it died (a token POST
// is not resent once it reached a server: see the file's comment on retries); every other request
// gets its token, and HAProxy marks the instance down. (A lost request is seen by the client as its
// keep-alive connection closed without an answer: HAProxy leaves the decision to retry to it.) Then
// another gets SIGTERM: it says `draining` on /health/ready, HAProxy takes it out within the grace
// period, and nothing fails.
import { createPrivateKey } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { TEST_SECRET_KEY } from '../helpers/app.js'
import { ascliAssertion, ascliForm } from '../helpers/assertions.js'
import { serverDatabaseUrl } from '../helpers/db.js'
import { checkedFetch, notTheApi } from '../helpers/checked-fetch.js'
import { HAPROXY_CFG, haproxyOwnAnswer, haproxyPath, haproxyRequired, haproxyUnavailable, loggedRequests, loopbackConfig, RESPONSE_COUNTERS, serverStates, type LoggedRequest, type ServerStat } from '../helpers/haproxy.js'
import { steadyLoad, type Sample } from '../helpers/load.js'
import { captureLevel, captureText, recordValue } from '../helpers/log-capture.js'
import { FORM } from '../helpers/oauth.js'
import { freePort, ROOT, start, waitReady } from '../helpers/process.js'

/** Token requests a second through the balancer: modest, the machine is shared. */
const RATE = 100
/** The load before the SIGKILL, and after it before the SIGTERM (ms). */
const BEFORE_KILL = 2500
const AFTER_KILL = 4000
/** The server's default SHUTDOWN_GRACE (s), which deploy/haproxy.cfg's check timings are set against. */
const GRACE = 5
const NAMES = ['auth1', 'auth2', 'auth3'] as const
const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

const unavailable = process.env.TEST_DATABASE_URL ? haproxyUnavailable() : undefined
const skip = !process.env.TEST_DATABASE_URL
  ? 'runs in the PostgreSQL pass (several instances share a server database)'
  : unavailable && !haproxyRequired() ? unavailable : false

t.test('three instances behind HAProxy: SIGKILL of one, then SIGTERM of another, under a token load', { skip }, async (t) => {
  if (unavailable) {
    t.fail(`HAProxy required (REQUIRE_HAPROXY=1) but unavailable: ${unavailable}`)
    return
  }
  // About 15 s of load; the rest is three processes starting (a minute on a saturated 2-core machine).
  t.setTimeout(180_000)
  const began = performance.now()
  const phases: string[] = []
  const phase = (what: string) => { phases.push(`${what} ${((performance.now() - began) / 1000).toFixed(1)} s`) }
  const database = (await serverDatabaseUrl())!
  const dir = t.testdir()
  const ports = { front: await freePort(), stats: await freePort(), servers: Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, await freePort()] as const))) }
  const publicUrl = `http://127.0.0.1:${ports.front}`
  const instances: Record<string, ReturnType<typeof start>> = {}
  // Filled as they are spawned, so that the teardown finds them if an assertion throws first.
  const started: { balancer?: ReturnType<typeof start> } = {}
  // Everything started is killed and awaited before the database is dropped and tap removes `dir`.
  t.teardown(async () => {
    for (const p of [...Object.values(instances), started.balancer]) {
      if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
    }
    const results = await Promise.all(Object.values(instances).map(async (p) => await p.done.catch(() => undefined)))
    for (const r of results) captureText((r?.stdout ?? '') + (r?.stderr ?? ''))
    await started.balancer?.done.catch(() => undefined)
    await database.drop()
  })

  // The same environment as docker-compose.cluster.yml gives its instances, on loopback.
  const startInstance = async (name: string, bootstrap: boolean) => {
    const dataDir = path.join(dir, name)
    await fs.mkdir(dataDir)
    instances[name] = start(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      PORT: String(ports.servers[name]),
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SECRET_ENCRYPTION_KEY: TEST_SECRET_KEY,
      PUBLIC_URL: publicUrl,
      TRUST_PROXY: '1',
      BOOTSTRAP: String(bootstrap),
      LOG_LEVEL: captureLevel('info'),
      // Off, as in every test app (test/helpers/app.ts): a starved test machine is no overloaded
      // server, and the per-client limit (1,200 a minute) is below this test's load.
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      TOKEN_RATE_LIMIT_PER_MINUTE: '0'
    })
    await waitReady(ports.servers[name]!, 90_000)
  }
  // All three at once, as the compose file starts them: migrations run under kysely's lock, a
  // signing key made twice is harmless (src/keys/signing-keys.ts), and only auth1 bootstraps.
  await Promise.all(NAMES.map(async (name) => { await startInstance(name, name === 'auth1') }))
  phase('instances ready')

  const cfg = path.join(dir, 'haproxy.cfg')
  await fs.writeFile(cfg, loopbackConfig(ports))
  // -db: stay in the foreground, so the log (to stdout) is ours and a kill ends it.
  const balancer = started.balancer = start(haproxyPath(), ['-db', '-f', cfg], {})
  const states = async (): Promise<Record<string, ServerStat>> => await serverStates(ports.stats, 'auth').catch(() => ({}))
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number, from = performance.now()): Promise<number> => {
    while (!(await check())) {
      if (performance.now() - from > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
      await sleep(50)
    }
    return performance.now() - from
  }
  // Servers start UP in HAProxy before their first check: wait for a passed check on each.
  await until('HAProxy checks every instance', async () => {
    const s = await states()
    return NAMES.every((n) => s[n]?.status === 'UP' && s[n]?.checkStatus === 'L7OK')
  }, 20_000)
  phase('HAProxy checks all three')

  const boot = JSON.parse(await fs.readFile(path.join(dir, 'auth1', 'bootstrap.json'), 'utf8'))
  recordValue('password', boot.admin_password)
  recordValue('client_secret', boot.client_secret)
  const key = createPrivateKey(await fs.readFile(path.join(dir, 'auth1', boot.admin_private_key_file), 'utf8'))
  // Most signed beforehand, each with its own jti, so that the test process does not starve the
  // load; more are signed as needed if the machine keeps up with RATE.
  const sign = async () => await ascliAssertion(key, boot.client_id, boot.admin_email, boot.org)
  const assertions = await Promise.all(Array.from({ length: RATE * 8 }, sign))
  phase('assertions signed')

  // `load=<n>` in the query (RFC 6749 §3.2 lets the token URL carry one) names each request in
  // HAProxy's log, which tells the server it went to. steadyLoad calls `request` synchronously as
  // it sends, so the n-th call is the n-th sample. Each answer is checked against openapi.yaml,
  // but for HAProxy's own error pages (a 502 when an instance died under a request): those are told
  // apart, counted, and held below to HAProxy's log.
  let sent = 0
  const haproxyAnswered = new Map<number, string>()
  const load = steadyLoad(async (signal) => {
    const n = sent++
    const assertion = assertions[n] ?? await sign()
    const res = await checkedFetch(`${publicUrl}/api/v1/oauth2/${boot.org}/token?load=${n}`, {
      method: 'POST', headers: FORM, signal, body: ascliForm(boot.client_id, assertion)
    }, { notTheApi: haproxyOwnAnswer })
    const reason = notTheApi(res)
    if (reason !== undefined) haproxyAnswered.set(n, reason)
    return res
  }, RATE)

  // SIGKILL auth2: no drain, no goodbye. The process takes a moment to die (its memory is freed
  // before its sockets close): until then the kernel still accepts connections and requests for it,
  // which die with it. Its end is when its parent is told it exited.
  const [killed, stopped, survivor] = ['auth2', 'auth3', 'auth1'] as const
  await sleep(BEFORE_KILL)
  const killAt = load.now()
  instances[killed]!.child.kill('SIGKILL')
  const dead = instances[killed]!.done.then(() => load.now())
  const killedDownMs = await until(`HAProxy marks ${killed} down`, async () => (await states())[killed]?.status.startsWith('DOWN') === true, 10_000)
  const deadAt = await dead
  await sleep(Math.max(0, killAt + AFTER_KILL - load.now()))

  // SIGTERM auth3: readiness turns 503 at once while it still serves, HAProxy takes it out, then it
  // closes its listener after GRACE seconds and exits 0.
  const termAt = load.now()
  const termFrom = performance.now()
  instances[stopped]!.child.kill('SIGTERM')
  // Asked of the instance itself, as HAProxy's check does: the signal takes a moment to be handled.
  let draining: { status: number, body: { reason?: string } } | undefined
  const drainingMs = await until(`${stopped} says draining`, async () => {
    const res = await checkedFetch(`http://127.0.0.1:${ports.servers[stopped]}/health/ready`)
    draining = { status: res.status, body: await res.json() as { reason?: string } }
    return res.status !== 200
  }, 2000, termFrom)
  const stoppedDownMs = await until(`HAProxy marks ${stopped} down`, async () => (await states())[stopped]?.status.startsWith('DOWN') === true, GRACE * 1000 + 5000, termFrom)
  const exit = await instances[stopped]!.done
  await sleep(1000)
  const samples = await load.stop()
  phase('load done')
  const finalStates = await states()
  balancer.child.kill('SIGTERM')
  const haproxyLog = (await balancer.done).stdout

  // Which server HAProxy sent each request to (the last one tried, for a redispatched request). A
  // request whose server connection broke before any answer is not logged: HAProxy closes the
  // client's keep-alive connection without a response, as a server closing an idle connection
  // would, and leaves the retry to the client (only safe for an idempotent request, RFC 9110 §9.2.2).
  const routes = new Map<number, LoggedRequest>()
  for (const r of loggedRequests(haproxyLog, 'public')) {
    const n = /[?&]load=(\d+)/.exec(r.url)?.[1]
    if (n !== undefined) routes.set(Number(n), r)
  }
  const indexed = samples.map((s, n) => ({ ...s, n, route: routes.get(n) }))
  for (const s of indexed) if (s.status === 200) recordValue('access_token', s.body?.access_token)
  const ok = (s: Sample) => s.status === 200 && typeof s.body?.access_token === 'string'
  const outcomes = (list: Array<{ status: number, error?: string }>) => [...new Set(list.map((s) => s.error ?? s.status))].sort()
  // What HAProxy sent the killed instance and never had an answer to: every request in flight on it
  // when it died. Its own count, independent of the client's.
  const k = finalStates[killed]?.counters ?? {}
  const answeredByKilled = RESPONSE_COUNTERS.reduce((sum, c) => sum + (k[c] ?? 0), 0)
  const unansweredByKilled = (k.stot ?? 0) - answeredByKilled - (k.wredis ?? 0)
  // From the client's side, a request may have been lost with the killed instance only if it was
  // not answered when the signal was sent, was sent before the process had ended, and was not
  // logged as sent to another instance.
  const mayBeLost = (s: typeof indexed[number]) => s.doneAt >= killAt && s.sentAt < deadAt && (!s.route || s.route.server === killed)
  const failed = indexed.filter((s) => !ok(s))
  const afterTerm = indexed.filter((s) => s.sentAt >= termAt)
  const servedWhileDraining = afterTerm.filter((s) => s.route?.server === stopped)
  const counters = (name: string) => ['stot', ...RESPONSE_COUNTERS, 'econ', 'eresp', 'wretr', 'wredis', 'cli_abrt', 'srv_abrt'].map((c) => `${c} ${finalStates[name]?.counters[c] ?? '?'}`).join(', ')
  const window = (from: number, to: number) => indexed.filter((s) => s.sentAt >= from && s.sentAt < to).length

  t.comment(`timeline: ${phases.join(', ')}`)
  t.comment(`${samples.length} token requests through HAProxy (${RATE}/s asked, ${(samples.length / (samples.at(-1)!.sentAt / 1000)).toFixed(0)}/s sent); ${routes.size} in its log`)
  t.comment(`SIGKILL ${killed} at ${killAt.toFixed(0)} ms, dead ${(deadAt - killAt).toFixed(0)} ms later, marked DOWN by HAProxy after ${killedDownMs.toFixed(0)} ms: ${unansweredByKilled} requests in flight on it, ${failed.length} failed (${outcomes(failed).join(', ') || 'none'}): ${failed.map((s) => `#${s.n} sent ${(s.sentAt - killAt).toFixed(0)} ms after the signal, failed ${(s.doneAt - deadAt).toFixed(0)} ms after the death`).join('; ')}`)
  t.comment(`HAProxy's counters: ${killed}: ${counters(killed)}; ${survivor}: ${counters(survivor)}`)
  t.comment(`SIGTERM ${stopped} at ${termAt.toFixed(0)} ms: draining after ${drainingMs.toFixed(0)} ms, marked DOWN by HAProxy after ${stoppedDownMs.toFixed(0)} ms (grace ${GRACE} s); it served ${servedWhileDraining.length} requests meanwhile; exit ${exit.code}`)

  t.ok(window(0, killAt) >= 20 && window(deadAt, termAt) >= 20 && afterTerm.length >= 20,
    `a steady load: ${window(0, killAt)} requests before the kill, ${window(deadAt, termAt)} between the death and the SIGTERM, ${afterTerm.length} after`)
  t.equal(indexed.filter((s) => ok(s) && !s.route).length, 0, 'HAProxy logged every request it answered')
  // A response taken for HAProxy's own page (and so not checked against openapi.yaml) must be one
  // that HAProxy's log says it ended itself: never a session that ended normally, with an instance's answer.
  t.same([...haproxyAnswered.keys()].filter((n) => routes.get(n)?.termination.startsWith('-') !== false), [],
    `each of the ${haproxyAnswered.size} answers told apart as HAProxy's own (${[...new Set(haproxyAnswered.values())].join('; ') || 'none'}) was ended by HAProxy, as its log says`)
  t.ok(failed.length <= unansweredByKilled, `failures (${failed.length}) within the requests HAProxy had sent ${killed} and never got an answer to (${unansweredByKilled})`)
  t.same(failed.filter((s) => !mayBeLost(s)).map((s) => ({ n: s.n, sentAt: Math.round(s.sentAt), doneAt: Math.round(s.doneAt), status: s.status, error: s.error, server: s.route?.server })), [],
    `no request failed but those in flight on ${killed} when it died`)
  t.ok(failed.every((s) => s.doneAt < deadAt + 1000), 'each failed as the killed instance died, not later')
  t.equal(indexed.filter((s) => s.route?.server === killed && s.sentAt > killAt + killedDownMs + 500).length, 0, `no request sent to ${killed} once it was down`)
  t.ok(killedDownMs < 5000, `HAProxy marked ${killed} down within ${killedDownMs.toFixed(0)} ms`)

  t.equal(draining?.status, 503, `${stopped}'s /health/ready answers 503 ${drainingMs.toFixed(0)} ms after SIGTERM`)
  t.equal(draining?.body.reason, 'draining', 'because it is draining')
  t.ok(stoppedDownMs < GRACE * 1000, `HAProxy took ${stopped} out (${stoppedDownMs.toFixed(0)} ms) before its grace period ended`)
  t.same(outcomes(afterTerm), [200], `every one of the ${afterTerm.length} requests sent from the SIGTERM on got its token`)
  t.equal(exit.code, 0, `${stopped} exits 0`)
  t.equal(finalStates[survivor]?.status, 'UP', `${survivor} is still up`)
  t.ok(afterTerm.filter((s) => s.sentAt > termAt + GRACE * 1000 + 500).every((s) => s.route?.server === survivor), `after ${stopped} stopped, ${survivor} served everything`)
})

// No Docker daemon in CI: what the compose file promises is checked on its text, and the balancer it
// mounts is the one the test above runs.
t.test('docker-compose.cluster.yml: three instances with one configuration, reachable only through HAProxy running deploy/haproxy.cfg', {
  skip: process.env.TEST_DATABASE_URL ? 'runs in the embedded-database pass' : false
}, async (t) => {
  const compose = YAML.parse(await fs.readFile(path.join(ROOT, 'docker-compose.cluster.yml'), 'utf8'), { merge: true })
  const services = compose.services as Record<string, any>
  const cfg = await fs.readFile(HAPROXY_CFG, 'utf8')
  const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):(\d+)\b/gm)].map((m) => ({ name: m[1], host: m[2], port: m[3] }))
  t.same(servers.map((s) => s.name), [...NAMES], 'HAProxy balances over auth1, auth2 and auth3')
  for (const s of servers) {
    t.equal(s.host, s.name, `${s.name}: by its service name`)
    t.equal(s.port, '3000', `${s.name}: on the image's port`)
  }
  const env = NAMES.map((n) => services[n]?.environment as Record<string, string>)
  for (const [i, name] of NAMES.entries()) {
    const e = env[i]!
    t.ok(services[name].build, `${name} is built from this directory`)
    t.notOk(services[name].ports, `${name} publishes no port: only the balancer reaches it`)
    t.equal(e.TRUST_PROXY, '1', `${name} trusts the one hop in front`)
    t.equal(e.REDIS_URL, 'redis://redis:6379', `${name} shares the limits through the redis service`)
    t.match(e.SECRET_ENCRYPTION_KEY, /^\$\{SECRET_ENCRYPTION_KEY:\?.+\}$/, `${name}: the key comes from the operator, and compose refuses to start without it`)
    t.match(services[name].healthcheck.test.join(' '), /\/health\/ready/, `${name}: its health check is readiness`)
    for (const key of ['DATABASE_URL', 'SECRET_ENCRYPTION_KEY', 'PUBLIC_URL']) t.equal(e[key], env[0]![key], `${name}: the same ${key} as auth1`)
  }
  t.same(env.map((e) => e.BOOTSTRAP), ['true', 'false', 'false'], 'only auth1 bootstraps')
  t.match(env[0]!.DATABASE_URL, /^postgres:\/\/[^@]+@db:5432\//, 'on the db service')
  t.match(services.db.image, /^postgres:16\b/)
  t.match(services.redis.image, /^redis:/)
  const haproxy = services.haproxy
  t.match(haproxy.image, /^haproxy:/, 'the official HAProxy image')
  t.ok((haproxy.volumes as string[]).includes('./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'), 'it mounts deploy/haproxy.cfg')
  t.ok((haproxy.ports as string[]).includes('8080:8080') && /^bind :8080\b/m.test(cfg.replace(/^\s+/gm, '')), 'it listens on 8080, published')
  t.match(env[0]!.PUBLIC_URL, /:-http:\/\/localhost:8080\}$/, 'PUBLIC_URL defaults to the balancer')
  t.match(cfg, /http-check send meth GET uri \/health\/ready/, 'HAProxy checks readiness')
})
