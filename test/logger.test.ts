import { generateKeyPairSync } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { buildLoggingTestApp, newOrg } from './helpers/app.js'

/** Every line the app logs, as written (JSON text), so a leak anywhere in a line is seen. */
const ta = await buildLoggingTestApp(t, 'info')
const { app, lines } = ta
const logged = () => lines.join('\n')

const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
const pemBody = privatePem.split('\n')[1]!
const secrets = {
  client_secret: 'cs-value-0a1b2c',
  assertion: 'eyJhbGciOiJFUzI1NiJ9.assertion-value.sig',
  password: 'pw-value-hunter2',
  secret: 'plain-secret-value-9z',
  refresh_token: 'rt-value-77aa',
  access_token: 'at-value-88bb'
}

// A route of the test's own, so it can log what a careless handler might: credentials at any depth.
app.post('/log-test', async (request) => {
  request.log.info({ body: request.body }, 'a body one level down')
  request.log.info({ ...secrets, note: 'top level' }, 'fields at the top')
  request.log.info({ client: { registration: { ...secrets, jwt: { public_key: 'fine', private_key: privatePem } } } }, 'fields deep down')
  request.log.info({ upload: { key: privatePem, list: [`pasted: ${privatePem}`] } }, 'a PEM under another name')
  request.log.warn({ err: new Error('boom'), form: { ...secrets } }, 'an error with a form')
  request.log.info({ headers: request.headers }, 'raw headers')
  request.log.info({ a: { b: { c: { d: { e: { f: { g: { h: { i: { password: secrets.password } } } } } } } } } }, 'very deep')
  return { ok: true }
})

// A failed statement, as an insert of a hash or a ciphertext would fail: the database error carries
// the statement's parameters (PGlite) and a detail quoting the duplicate value (both back ends).
const hashLike = '$argon2id$v=19$m=65536,t=3,p=4$marker-hash-5f3a'
app.post('/log-db-error', async () => {
  await sql`INSERT INTO organizations (id, name) VALUES (${'dup-' + hashLike}, ${hashLike})`.execute(app.ctx.db)
  await sql`INSERT INTO organizations (id, name) VALUES (${'dup2-' + hashLike}, ${hashLike})`.execute(app.ctx.db)
  return { ok: true }
})

t.test('a database error is logged by its code and message, never with the values of its statement', async (t) => {
  const before = lines.length
  const res = await app.inject({ method: 'POST', url: '/log-db-error', payload: {} })
  t.equal(res.statusCode, 500)
  t.notMatch(res.body, 'marker-hash', 'nor does the answer show them')
  const entry = lines.slice(before).map((l) => JSON.parse(l) as { msg?: string, err?: Record<string, unknown> }).find((e) => e.msg === 'unhandled error')
  t.ok(entry, 'the error is logged')
  t.match(entry?.err, { code: '23505', message: /duplicate key/, stack: /duplicate key/ }, 'with its SQLSTATE, message and stack')
  t.notMatch(lines.slice(before).join('\n'), 'marker-hash', 'the inserted value is in no log line (params, detail, query)')
})

t.test('credentials and PEMs never reach the log', async (t) => {
  const org = await newOrg(ta)
  const res = await app.inject({
    method: 'POST',
    url: '/log-test',
    headers: { authorization: `Bearer ${org.adminToken}`, cookie: 'session=cookie-value-42', 'x-request-id': 'req-log-1' },
    payload: { ...secrets, grant_type: 'password', username: 'someone' }
  })
  t.equal(res.statusCode, 200)
  // And a real authenticated API call, so the auth plugin's own logging is covered too.
  const api = await app.inject({ method: 'GET', url: '/api/v1/users', headers: { authorization: `Bearer ${org.adminToken}` } })
  t.equal(api.statusCode, 200)
  const out = logged()
  t.match(out, 'fields deep down', 'the test lines were logged')
  t.match(out, 'an error with a form')
  t.match(out, 'boom', 'errors are still logged')
  t.match(out, 'someone', 'harmless fields are kept')
  t.match(out, '"x-request-id":"req-log-1"', 'harmless headers are kept')
  t.match(out, '[truncated]', 'objects nested too deep are cut off')
  t.match(out, '[redacted]', 'a censored value leaves a marker')
  t.match(out, '[PEM redacted]')
  for (const [name, value] of Object.entries(secrets)) t.notMatch(out, value, `${name} is not logged`)
  t.notMatch(out, org.adminToken, 'the Bearer token is not logged')
  t.notMatch(out, org.adminToken.split('.')[2]!, 'nor its signature')
  t.notMatch(out, 'cookie-value-42', 'the cookie is not logged')
  t.notMatch(out, pemBody, 'the PEM key is not logged')
  t.notMatch(out, 'BEGIN PRIVATE KEY')
  for (const line of lines) t.doesNotThrow(() => JSON.parse(line), 'each line is JSON')
})

t.test('request logs carry the request id, and the response gives it back', async (t) => {
  const before = lines.length
  const given = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'trace-abc.123' } })
  t.equal(given.headers['x-request-id'], 'trace-abc.123', 'a well-formed X-Request-Id is kept')
  const made = await app.inject({ method: 'GET', url: '/health/live' })
  const id = made.headers['x-request-id']
  t.match(id, /^[0-9a-f-]{36}$/, 'otherwise a UUID is made')
  const bad = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'bad id\u0007' } })
  t.not(bad.headers['x-request-id'], 'bad id\u0007', 'a malformed one is replaced')
  t.match(bad.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  const entries = lines.slice(before).map((l) => JSON.parse(l) as { reqId?: string, msg?: string })
  for (const want of ['trace-abc.123', id]) {
    const mine = entries.filter((e) => e.reqId === want)
    // One line per request, when it is answered (src/app.ts): its method, URL and status with its id.
    t.same(mine.map((e) => e.msg), ['request completed'], `${want}: one line for the request, with its id`)
    t.match(mine[0], { req: { method: 'GET', url: '/health/live' }, res: { statusCode: 200 }, responseTime: Number }, `${want}: it says what was asked and answered`)
  }
  const errorRes = await app.inject({ method: 'GET', url: '/api/v1/users', headers: { 'x-request-id': 'req-err-1' } })
  t.equal(errorRes.statusCode, 401)
  t.equal(errorRes.headers['x-request-id'], 'req-err-1', 'errors carry it too')
  t.equal(errorRes.json().request_id, 'req-err-1', 'and name it in the body')
})
