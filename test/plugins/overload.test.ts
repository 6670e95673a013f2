// Overload (issue 12, item 4; docs/operations.md): past OVERLOAD_MAX_HEAP_USED_BYTES or
// OVERLOAD_MAX_EVENT_LOOP_DELAY_MS new requests get 503 with Retry-After, as OAuth JSON under the
// OAuth base, as a page on the sign-in pages and as the REST error elsewhere; /health/ready says so
// and /health/live stays 200.
import t from 'tap'
import { buildLoggingTestApp, buildTestApp, newOrg } from '../helpers/app.js'
import { FORM } from '../helpers/oauth.js'

const sleep = async (ms: number) => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('past the heap limit: every path answers 503 in its own shape, health says so', async (t) => {
  // One byte: the first sample (within half a second) finds the process past it, and stays past it.
  const ta = await buildLoggingTestApp(t, 'info', { OVERLOAD_MAX_HEAP_USED_BYTES: '1' })
  const { app, lines } = ta
  const org = await newOrg(ta)
  await sleep(700)
  t.ok(app.isUnderPressure(), 'the guard sees the pressure')
  const token = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/token`, headers: FORM, payload: 'grant_type=refresh_token&refresh_token=x' })
  t.equal(token.statusCode, 503)
  t.equal(token.headers['retry-after'], '2')
  t.same(token.json(), { error: 'temporarily_unavailable', error_description: 'the server is overloaded; retry later' }, 'OAuth JSON on the OAuth endpoints')
  const rest = await app.inject({ method: 'GET', url: '/api/v1/users', headers: { authorization: `Bearer ${org.adminToken}` } })
  t.equal(rest.statusCode, 503)
  t.equal(rest.headers['retry-after'], '2')
  t.match(rest.json(), { code: 'service_unavailable', message: 'the server is overloaded; retry later', request_id: String }, 'the REST error body elsewhere')
  const page = await app.inject({ method: 'GET', url: `/api/v1/oauth2/${org.orgName}/login` })
  t.equal(page.statusCode, 503, 'the sign-in page too')
  t.equal(page.headers['retry-after'], '2')
  t.match(page.headers['content-type'], /^text\/html/, 'as a page')
  t.match(page.body, /<h1>Briefly unavailable<\/h1>/)
  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status: 'unavailable', reason: 'overloaded' })
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'liveness answers whatever the load')
  for (let i = 0; i < 20; i++) await app.inject({ method: 'GET', url: '/api/v1/users' })
  const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'the server is overloaded: answering 503')
  t.equal(warnings.length, 1, 'one warn line for 23 refusals within a second')
  t.notOk(lines.some((l) => JSON.parse(l).level >= 50), 'nothing at error level: the page\'s 503 is no fault')
  t.match(warnings[0], { level: 40, pressure: 'heapUsedBytes' })
})

t.test('a blocked event loop trips it, and it lets go when the loop recovers', async (t) => {
  const { app } = await buildTestApp(t, { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '20' })
  await app.ready()
  await sleep(1200)
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/users' })).statusCode, 401, 'served (and refused for want of a token) before')
  const until = Date.now() + 1500
  while (Date.now() < until) { /* the event loop is blocked, as by a runaway computation */ }
  await sleep(50)
  t.ok(app.memoryUsage().eventLoopDelay > 20, `the mean delay sampled: ${Math.round(app.memoryUsage().eventLoopDelay)} ms`)
  const during = await app.inject({ method: 'GET', url: '/api/v1/users' })
  t.equal(during.statusCode, 503, 'refused while the loop was slow')
  t.equal(during.json().code, 'service_unavailable')
  await sleep(1200)
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/users' })).statusCode, 401, 'served again once it recovered')
})

t.test('at the default limit (1000 ms, heap off), an idle server is not under pressure', async (t) => {
  const { app, config } = await buildTestApp(t, { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '1000' })
  t.equal(config.overloadMaxHeapUsedBytes, 0)
  await app.ready()
  await sleep(700)
  t.notOk(app.isUnderPressure(), 'an idle server is not under pressure')
})
