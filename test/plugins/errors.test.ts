// The error answers every route shares: U+0000 in input, the router's own errors (frameworkErrors),
// and requests no route takes, on REST paths and on OAuth paths.
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildTestApp, call, newOrg } from '../helpers/app.js'
import { dbKind } from '../helpers/db.js'
import { FORM } from '../helpers/oauth.js'

const ta = await buildTestApp(t)
const { app } = ta

// Routes outside the REST plugin send U+0000 to the database themselves, past refuseUnstorableText:
// the only way left to reach the error handler's backstop for SQLSTATE 22021 and 22P05.
async function storeNul (kind: string): Promise<void> {
  const value = 'a\u0000b'
  if (kind === 'jsonb') await sql`select ${JSON.stringify([value])}::jsonb`.execute(app.ctx.db)
  else await sql`select ${value}::text`.execute(app.ctx.db)
}
app.get<{ Params: { kind: string } }>('/test/unstorable/:kind', async (request) => { await storeNul(request.params.kind); return {} })
app.post<{ Params: { kind: string } }>('/api/v1/oauth2/:org/test-unstorable/:kind', async (request) => { await storeNul(request.params.kind); return {} })

// An async constraint whose lookup fails, as a constraint backed by a store might: fastify then
// raises FST_ERR_ASYNC_CONSTRAINT before any route or hook, through frameworkErrors.
const constraintStore = () => {
  const m = new Map<string, unknown>()
  return { get: (k: string) => (m.get(k) ?? null) as never, set: (k: string, v: unknown) => { m.set(k, v) } }
}
app.addConstraintStrategy({
  name: 'testTenant',
  storage: constraintStore,
  deriveConstraint: (req: { headers: Record<string, unknown> }, _ctx: unknown, done: (err: Error | null, value?: string) => void) => {
    if (req.headers['x-test-fail-constraint']) done(new Error('tenant store unreachable'))
    else done(null, 'ok')
  },
  mustMatchWhenDerived: false
} as never)
app.get('/test/constrained', { constraints: { testTenant: 'ok' } }, async () => ({}))
app.get('/api/v1/oauth2/:org/test-constrained', { constraints: { testTenant: 'ok' } }, async () => ({}))

const org = await newOrg(ta)

/** A REST error body, JSON, with the request id also in X-Request-Id. */
function isRestError (t: Test, res: LightMyRequestResponse, status: number, expected: Record<string, unknown>, label: string): void {
  t.equal(res.statusCode, status, `${label}: status`)
  t.match(res.headers['content-type'], /^application\/json/, `${label}: JSON`)
  const body = res.json()
  t.match(body, { ...expected, message: String, request_id: String }, `${label}: REST body`)
  t.equal(body.request_id, res.headers['x-request-id'], `${label}: the request id is in the header too`)
  t.notOk('statusCode' in body || 'error' in body, `${label}: not fastify's own body`)
}

/** An RFC 6749 §5.2 error body, JSON, never cached. */
function isOAuthError (t: Test, res: LightMyRequestResponse, status: number, error: string, label: string): void {
  t.equal(res.statusCode, status, `${label}: status`)
  t.match(res.headers['content-type'], /^application\/json/, `${label}: JSON`)
  t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], `${label}: only the RFC 6749 fields`)
  t.match(res.json(), { error, error_description: String }, `${label}: OAuth body`)
  t.equal(res.headers['cache-control'], 'no-store', `${label}: not cached`)
}

t.test('U+0000 anywhere in a REST request gets 422 invalid_parameter naming the field, before any query', async (t) => {
  const client = await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'nul target' })
  const { user } = await org.newUser()
  const cases: Array<[string, string, string, unknown, string]> = [
    ['q of a list', 'GET', '/api/v1/users?q=%00', undefined, 'q'],
    ['a group name', 'POST', '/api/v1/groups', { name: 'a\u0000b' }, 'name'],
    ['a client authorization\'s client_id', 'POST', '/api/v1/client_authorizations', { client_id: 'a\u0000b', entity_type: 'user', entity_id: user.id }, 'client_id'],
    ['a client_id filter', 'GET', '/api/v1/client_authorizations?client_id=%00', undefined, 'client_id'],
    ['a group_id filter', 'GET', '/api/v1/group_memberships?group_id=%00', undefined, 'group_id'],
    ['a path id', 'DELETE', '/api/v1/self/consents/%00', undefined, 'id'],
    ['an item of redirect_uris', 'PUT', `/api/v1/clients/${client.json().id}`, { redirect_uris: ['https://a.example.com/ok', 'https://a.example.com/\u0000'] }, 'redirect_uris.1'],
    ['a new user\'s first_name', 'POST', '/api/v1/users', { email: 'nul-user@example.com', first_name: 'Ann\u0000' }, 'first_name'],
    ['a user\'s name', 'PUT', `/api/v1/users/${user.id}`, { name: '\u0000' }, 'name'],
    ['a user\'s last_name', 'PUT', `/api/v1/users/${user.id}`, { last_name: 'x\u0000y' }, 'last_name'],
    ['a node name', 'POST', '/api/v1/nodes', { name: 'n\u0000', url: 'https://node.example.com', access_key: 'nul-node-1' }, 'name'],
    ['a node url', 'POST', '/api/v1/nodes', { name: 'nul node', url: 'https://node.example.com/\u0000', access_key: 'nul-node-2' }, 'url'],
    ['a field name in the body', 'POST', '/api/v1/groups', { name: 'ok', 'descr\u0000iption': 'x' }, 'body']
  ]
  for (const [label, method, url, body, param] of cases) {
    const res = await call(app, org.adminToken, method as 'GET', url, body)
    isRestError(t, res, 422, { code: 'invalid_parameter', param }, label)
    t.match(res.json().message, /U\+0000/, `${label}: the message names the character`)
  }
  const groups = await call(app, org.adminToken, 'GET', '/api/v1/groups?per_page=1000')
  t.equal(groups.headers['x-total-count'], '0', 'no group was made')
  const nodes = await call(app, org.adminToken, 'GET', '/api/v1/nodes?per_page=1000')
  t.equal(nodes.headers['x-total-count'], '0', 'no node was made')
  t.equal((await call(app, org.adminToken, 'GET', `/api/v1/users/${user.id}`)).json().name, user.name, 'the user is unchanged')
})

t.test('U+0000 gets the same 422 on a plain user\'s routes, and inside a path id', async (t) => {
  const { token } = await org.newUser()
  const consent = await call(app, token, 'DELETE', '/api/v1/self/consents/a%00b')
  isRestError(t, consent, 422, { code: 'invalid_parameter', param: 'id' }, 'a plain user\'s own consent')
})

t.test('a JSON body nested deeper than any of ours gets a 422, not a stack overflow', async (t) => {
  const depth = 30_000
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/groups',
    headers: { authorization: `Bearer ${org.adminToken}`, 'content-type': 'application/json' },
    payload: '{"name":' + '['.repeat(depth) + ']'.repeat(depth) + '}'
  })
  t.equal(res.statusCode, 422, '422, not 500')
  t.match(res.json(), { code: 'invalid_parameter', message: /nested more than 32 levels/ })
})

t.test(`the database's refusal of U+0000 (${dbKind}) is a 422 on REST paths and invalid_request on OAuth paths, not a 500`, async (t) => {
  for (const kind of ['text', 'jsonb']) {
    const rest = await app.inject({ method: 'GET', url: `/test/unstorable/${kind}` })
    isRestError(t, rest, 422, { code: 'invalid_parameter' }, `REST, ${kind} (SQLSTATE ${kind === 'text' ? '22021' : '22P05'})`)
    const oauth = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/test-unstorable/${kind}` })
    isOAuthError(t, oauth, 400, 'invalid_request', `OAuth, ${kind}`)
  }
})

t.test('a malformed percent-encoding in the path gets the REST body, or OAuth JSON under the OAuth base, with a request id', async (t) => {
  const rest = await app.inject({ method: 'GET', url: '/api/v1/users/%FF', headers: { authorization: `Bearer ${org.adminToken}` } })
  isRestError(t, rest, 400, { code: 'invalid_parameter' }, 'GET /api/v1/users/%FF')
  const given = await app.inject({ method: 'GET', url: '/api/v1/groups/%E0%A4%A', headers: { 'x-request-id': 'trace-me-42' } })
  isRestError(t, given, 400, { code: 'invalid_parameter', request_id: 'trace-me-42' }, 'a truncated escape, the caller\'s request id')

  const token = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/token%FF`, payload: 'grant_type=x', headers: FORM })
  isOAuthError(t, token, 400, 'invalid_request', 'POST …/token%FF')
  t.match(token.headers['x-request-id'], /.+/, 'the OAuth answer keeps X-Request-Id')
  const orgSegment = await app.inject({ method: 'GET', url: '/api/v1/oauth2/%C0/authorize' })
  isOAuthError(t, orgSegment, 400, 'invalid_request', 'a bad org segment')
})

t.test('the router\'s other errors go through the same place: a path parameter too long, a failed async constraint', async (t) => {
  const long = 'a'.repeat(101)
  isRestError(t, await app.inject({ method: 'GET', url: `/api/v1/users/${long}` }), 414, { code: 'invalid_parameter' }, 'REST path parameter over maxParamLength')
  isOAuthError(t, await app.inject({ method: 'POST', url: `/api/v1/oauth2/${long}/token` }), 400, 'invalid_request', 'OAuth path parameter over maxParamLength')

  t.equal((await app.inject({ method: 'GET', url: '/test/constrained' })).statusCode, 200, 'the constraint works when its store answers')
  const failing = { 'x-test-fail-constraint': '1' }
  isRestError(t, await app.inject({ method: 'GET', url: '/test/constrained', headers: failing }), 500, { code: 'internal_error' }, 'REST, async constraint failed')
  isOAuthError(t, await app.inject({ method: 'GET', url: `/api/v1/oauth2/${org.orgName}/test-constrained`, headers: failing }), 500, 'server_error', 'OAuth, async constraint failed')
})

t.test('a wrong method on an OAuth endpoint gets 405 invalid_request with Allow; an unknown OAuth path 404 invalid_request', async (t) => {
  const token = await app.inject({ method: 'GET', url: `/api/v1/oauth2/${org.orgName}/token` })
  isOAuthError(t, token, 405, 'invalid_request', 'GET …/token')
  t.equal(token.headers.allow, 'POST')
  const login = await app.inject({ method: 'DELETE', url: `/api/v1/oauth2/${org.orgName}/login/?x=1` })
  isOAuthError(t, login, 405, 'invalid_request', 'DELETE …/login/ with a query')
  t.equal(login.headers.allow, 'GET, HEAD, POST')
  const revoke = await app.inject({ method: 'PUT', url: '/api/v1/oauth2/no-such-org/revoke' })
  isOAuthError(t, revoke, 405, 'invalid_request', 'PUT …/revoke of an unknown org: the path exists all the same')
  t.equal(revoke.headers.allow, 'POST')

  const unknown = await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/userinfo` })
  isOAuthError(t, unknown, 404, 'invalid_request', 'POST …/userinfo')
  t.notOk(unknown.headers.allow, 'no Allow for a path nothing answers')
  isOAuthError(t, await app.inject({ method: 'GET', url: `/api/v1/oauth2/${org.orgName}/token/extra` }), 404, 'invalid_request', 'below an endpoint')
})

t.test('REST paths keep the REST 404 for a wrong method or an unknown path', async (t) => {
  isRestError(t, await app.inject({ method: 'PATCH', url: '/api/v1/users' }), 404, { code: 'not_found' }, 'PATCH /api/v1/users')
  isRestError(t, await app.inject({ method: 'GET', url: '/api/v1/nothing-here' }), 404, { code: 'not_found' }, 'an unknown REST path')
  isRestError(t, await app.inject({ method: 'POST', url: `/api/v1/oauth2/${org.orgName}/jwks` }), 404, { code: 'not_found' }, 'the JWKS path answers REST errors')
})
