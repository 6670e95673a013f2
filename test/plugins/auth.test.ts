import t from 'tap'
import { decodeJwt } from 'jose'
import { issuerFor } from '../../src/oauth/tokens.js'
import { createClient } from '../../src/registry/clients.js'
import { buildTestApp, call, newOrg, pastCutOff } from '../helpers/app.js'

const ta = await buildTestApp(t)
const { app, config } = ta
const org = await newOrg(ta)
const other = await newOrg(ta)

t.test('a revoked token is refused at once', async (t) => {
  const { token } = await org.newUser()
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 200)
  const { jti, exp } = decodeJwt(token)
  await app.ctx.db.insertInto('revoked_tokens').values({ jti: jti!, expires_at: new Date(exp! * 1000) }).execute()
  const res = await call(app, token, 'GET', '/api/v1/self')
  t.equal(res.statusCode, 401)
  t.match(res.json(), { code: 'unauthorized', message: String, request_id: String })
})

t.test('a deactivation outlives a reactivation: only tokens issued after it work', async (t) => {
  const { user, token } = await org.newUser()
  const setDeactivated = async (deactivated: boolean) =>
    (await call(app, org.adminToken, 'PUT', `/api/v1/users/${user.id}`, { deactivated })).statusCode
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 200)
  t.equal(await setDeactivated(true), 204)
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 401, 'deactivated')
  t.equal(await setDeactivated(false), 204)
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 401, 'reactivated: the token from before stays refused')
  await pastCutOff(ta, user.id)
  const fresh = await org.tokenFor(user)
  t.equal((await call(app, fresh, 'GET', '/api/v1/self')).statusCode, 200, 'a token issued after the reactivation works')
})

t.test('a token of the cut-off\'s own second is refused, as iat has whole seconds', async (t) => {
  const { user, token } = await org.newUser()
  const iatMs = decodeJwt(token).iat! * 1000
  const statusWithCutOff = async (ms: number) => {
    await app.ctx.db.updateTable('users').set({ tokens_valid_after: new Date(ms) }).where('id', '=', user.id).execute()
    return (await call(app, token, 'GET', '/api/v1/self')).statusCode
  }
  t.equal(await statusWithCutOff(iatMs + 999), 401, 'a cut-off late in the token\'s second')
  t.equal(await statusWithCutOff(iatMs), 401, 'a cut-off at the second\'s start, maybe before the token: the price of whole seconds')
  t.equal(await statusWithCutOff(iatMs - 1), 200, 'a cut-off in the second before')
})

t.test('a token whose issuer names another organization is refused', async (t) => {
  const token = await org.issue({ issuer: issuerFor(config.publicUrl, other.orgName) })
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 401)
})

t.test('a token for a user of another organization cannot reach this one\'s objects', async (t) => {
  const token = await org.issue({ email: other.admin.email, userId: other.admin.id })
  t.equal((await call(app, token, 'GET', '/api/v1/users')).statusCode, 401, 'user_id and organization_id must agree')
})

t.test('the tokens of a deleted client stop working', async (t) => {
  const client = await createClient(app.ctx.db, app.ctx.box, org.orgId, { name: 'short-lived' }, null)
  const token = await org.issue({ clientId: client.id, scope: 'user:all' })
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 200)
  await app.ctx.db.deleteFrom('clients').where('id', '=', client.id).execute()
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 401)
})

t.test('a node-scoped token cannot call the REST API', async (t) => {
  const token = await org.tokenFor(org.admin, 'node.ak1:user:all')
  const res = await call(app, token, 'GET', '/api/v1/self')
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'forbidden')
})

t.test('an expired token is refused', async (t) => {
  const token = await org.tokenFor(org.admin, 'admin:all', -10)
  t.equal((await call(app, token, 'GET', '/api/v1/self')).statusCode, 401)
})

t.test('every 401 carries a Bearer challenge, naming invalid_token when a token was sent (RFC 6750 §3)', async (t) => {
  const none = await call(app, undefined, 'GET', '/api/v1/self')
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="api"', 'no token: the challenge alone, without an error code')
  const basic = await app.inject({ method: 'GET', url: '/api/v1/self', headers: { authorization: 'Basic dXNlcjpwYXNz' } })
  t.equal(basic.headers['www-authenticate'], 'Bearer realm="api"', 'another scheme is no Bearer token: no error code either')

  const invalidToken = /^Bearer realm="api", error="invalid_token", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]+"$/
  const expired = await call(app, await org.tokenFor(org.admin, 'admin:all', -10), 'GET', '/api/v1/self')
  const revokedToken = (await org.newUser()).token
  const { jti, exp } = decodeJwt(revokedToken)
  await app.ctx.db.insertInto('revoked_tokens').values({ jti: jti!, expires_at: new Date(exp! * 1000) }).execute()
  const answers = {
    expired,
    garbage: await call(app, 'not.a.jwt', 'GET', '/api/v1/users'),
    'not a token\'s syntax': await app.inject({ method: 'GET', url: '/api/v1/self', headers: { authorization: 'Bearer !!!' } }),
    revoked: await call(app, revokedToken, 'GET', '/api/v1/self')
  }
  for (const [what, res] of Object.entries(answers)) {
    t.equal(res.statusCode, 401, what)
    t.match(res.headers['www-authenticate'], invalidToken, `${what}: invalid_token, with a description of allowed characters`)
    t.equal(res.json().code, 'unauthorized', `${what}: the REST body as before`)
  }
  t.match(expired.headers['www-authenticate'], /error_description="the access token is invalid or expired/, 'the description is the body\'s message')
  const forbidden = await call(app, await org.tokenFor(org.admin, 'node.ak1:user:all'), 'GET', '/api/v1/self')
  t.equal(forbidden.statusCode, 403)
  t.notOk(forbidden.headers['www-authenticate'], 'a 403 carries no challenge')
})

t.test('JWKS at the org OAuth base and at the well-known path hold the signing kid', async (t) => {
  const { kid } = JSON.parse(Buffer.from(org.adminToken.split('.')[0]!, 'base64url').toString())
  for (const url of ['/.well-known/jwks.json', `/api/v1/oauth2/${org.orgName}/jwks`]) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], /^application\/json/)
    const keys = res.json().keys as Array<{ kid: string, d?: string }>
    t.ok(keys.some((k) => k.kid === kid), `${url} publishes the kid`)
    t.notOk(keys.some((k) => 'd' in k), `${url} has no private parts`)
  }
})

t.test('the JWKS at an OAuth base of no organization is a 404, as its metadata', async (t) => {
  for (const url of ['/api/v1/oauth2/nosuchorg0000/jwks', '/.well-known/oauth-authorization-server/api/v1/oauth2/nosuchorg0000']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 404, url)
    t.match(res.json(), { code: 'not_found', message: 'organization not found', request_id: String }, url)
  }
})

t.test('health: live and ready', async (t) => {
  t.same((await app.inject({ url: '/health/live' })).json(), { status: 'ok' })
  const ready = await app.inject({ url: '/health/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().status, 'ok')
})

t.test('an unknown route is a JSON 404 and every answer carries X-Request-Id', async (t) => {
  const res = await app.inject({ url: '/api/v1/nope' })
  t.equal(res.statusCode, 404)
  t.match(res.json(), { code: 'not_found', request_id: String })
  t.equal(res.headers['x-request-id'], res.json().request_id)
})
