import { generateKeyPairSync } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import t from 'tap'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm, jsSdkAssertion, pythonAssertion, tutorialAssertion } from '../helpers/assertions.js'
import { basic, oauthPoster } from '../helpers/oauth.js'

const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0' })
const { app, config } = ta
const org = await newOrg(ta)
const tokenUrl = `/api/v1/oauth2/${org.orgName}/token`
const post = oauthPoster(app, org.orgName)

const alice = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(alice.publicKey) })
await app.ctx.db.updateTable('clients').set({ jwt_grant_enabled: true }).where('id', '=', org.clientId).execute()

t.test('ascli\'s exact request gets a token that the REST API accepts', async (t) => {
  const res = await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email, org.orgName)))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { token_type: 'bearer', expires_in: config.userTokenTtl, scope: 'user:all', access_token: String })
  t.notOk('refresh_token' in body)
  const claims = decodeJwt(body.access_token)
  t.match(claims, { iss: `${config.publicUrl}/api/v1/oauth2/${org.orgName}`, sub: user.email, aud: config.accessTokenAudience, client_id: org.clientId, user_id: user.id, organization_id: org.orgId, scope: 'user:all' })
  t.equal(claims.exp! - claims.iat!, body.expires_in)
  t.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt')
  const self = await call(app, body.access_token, 'GET', '/api/v1/self')
  t.equal(self.statusCode, 200)
  t.equal(self.json().id, user.id)
})

t.test('the tutorial (Basic), Python (secret in body) and JS SDK shapes get tokens', async (t) => {
  const viaBasic = await post('token', `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${await tutorialAssertion(alice.privateKey, org.clientId, user.email)}`, basic(org.clientId, org.clientSecret))
  t.equal(viaBasic.statusCode, 200, viaBasic.body)
  const basicAndBodyId = await post('token', `client_id=${org.clientId}&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${await tutorialAssertion(alice.privateKey, org.clientId, user.email)}`, basic(org.clientId, org.clientSecret))
  t.equal(basicAndBodyId.statusCode, 200, 'Basic with the same client_id in the body')
  const inBody = await post('token', `client_id=${org.clientId}&client_secret=${org.clientSecret}&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${await pythonAssertion(alice.privateKey, org.clientId, user.email, org.orgName)}`)
  t.equal(inBody.statusCode, 200, inBody.body)
  const sdk = await post('token', ascliForm(org.clientId, await jsSdkAssertion(alice.privateKey, org.clientId, user.email.toUpperCase())))
  t.equal(sdk.statusCode, 200, 'sub is matched without case')
})

t.test('client identification errors', async (t) => {
  const assertion = await ascliAssertion(alice.privateKey, org.clientId, user.email)
  const wrongSecret = await post('token', ascliForm(org.clientId, assertion), basic(org.clientId, 'x' + org.clientSecret))
  t.equal(wrongSecret.statusCode, 401)
  t.match(wrongSecret.json(), { error: 'invalid_client' })
  t.match(wrongSecret.headers['www-authenticate'], /^Basic/, 'WWW-Authenticate when Basic was used')
  const wrongBodySecret = await post('token', `${ascliForm(org.clientId, assertion)}&client_secret=nope`)
  t.equal(wrongBodySecret.statusCode, 401)
  t.notOk(wrongBodySecret.headers['www-authenticate'])
  const unknown = await post('token', ascliForm('no-such-client', assertion))
  t.equal(unknown.statusCode, 401, 'an unknown client is 401 even without a secret')
  t.equal(unknown.json().error, 'invalid_client')
  const twoIds = await post('token', ascliForm('other-id', assertion), basic(org.clientId, org.clientSecret))
  t.equal(twoIds.statusCode, 400)
  t.equal(twoIds.json().error, 'invalid_request')
  const repeated = await post('token', `${ascliForm(org.clientId, assertion)}&scope=admin%3Aall`)
  t.equal(repeated.statusCode, 400)
  t.equal(repeated.json().error, 'invalid_request')
  t.match(repeated.json().error_description, /repeated/)
  const json = await app.inject({ method: 'POST', url: tokenUrl, payload: { client_id: org.clientId, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion } })
  t.equal(json.statusCode, 400)
  t.equal(json.json().error, 'invalid_request', 'a JSON body is refused')
  const noGrant = await post('token', `client_id=${org.clientId}`)
  t.same(noGrant.json(), { error: 'invalid_request', error_description: 'missing \'grant_type\'' })
  const password = await post('token', `client_id=${org.clientId}&grant_type=password`)
  t.equal(password.json().error, 'unsupported_grant_type')
  const big = await post('token', ascliForm(org.clientId, 'a'.repeat(20_000)))
  t.equal(big.statusCode, 413)
  t.equal(big.json().error, 'invalid_request', 'an oversized body is OAuth JSON')
  const noAssertion = await post('token', `client_id=${org.clientId}&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer`)
  t.equal(noAssertion.json().error, 'invalid_request')
  const textBody = await app.inject({ method: 'POST', url: tokenUrl, headers: { 'content-type': 'text/plain' }, payload: 'hello' })
  t.equal(textBody.statusCode, 400)
  t.equal(textBody.json().error, 'invalid_request')
})

t.test('an unknown user and a wrong key read the same', async (t) => {
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const unknownUser = await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, 'nobody@example.com')))
  const wrongKey = await post('token', ascliForm(org.clientId, await ascliAssertion(stranger.privateKey, org.clientId, user.email)))
  t.equal(unknownUser.statusCode, 400)
  t.equal(wrongKey.statusCode, 400)
  t.equal(unknownUser.json().error, 'invalid_grant')
  t.same(unknownUser.json(), wrongKey.json())
  t.match(wrongKey.json().error_description, /public key/)
})

t.test('a replayed jti is refused', async (t) => {
  const assertion = await ascliAssertion(alice.privateKey, org.clientId, user.email)
  t.equal((await post('token', ascliForm(org.clientId, assertion))).statusCode, 200)
  const again = await post('token', ascliForm(org.clientId, assertion))
  t.equal(again.statusCode, 400)
  t.equal(again.json().error, 'invalid_grant')
  t.match(again.json().error_description, /already used/)
})

t.test('a key change takes effect on the very next request', async (t) => {
  const { user: bob } = await org.newUser({ public_key: pem(alice.publicKey) })
  t.equal((await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, bob.email)))).statusCode, 200)
  const next = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/users/${bob.id}`, { public_key: pem(next.publicKey) })).statusCode, 204)
  const old = await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, bob.email)))
  t.equal(old.statusCode, 400, 'the old key is refused at once')
  t.equal(old.json().error, 'invalid_grant')
})

t.test('a client without jwt_grant_enabled gets unauthorized_client', async (t) => {
  const res = await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'no-jwt' })
  const other = res.json()
  const r = await post('token', ascliForm(other.id, await ascliAssertion(alice.privateKey, other.id, user.email)))
  t.equal(r.statusCode, 400)
  t.equal(r.json().error, 'unauthorized_client')
})

t.test('admin scope for a non-admin is invalid_scope; an admin gets a 1800 s token', async (t) => {
  const r = await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email), 'admin:all'))
  t.equal(r.json().error, 'invalid_scope')
  const adminKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
  await call(app, org.adminToken, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(adminKey.publicKey) })
  const a = await post('token', ascliForm(org.clientId, await ascliAssertion(adminKey.privateKey, org.clientId, org.admin.email), 'admin:all'))
  t.equal(a.statusCode, 200, a.body)
  t.match(a.json(), { scope: 'admin:all', expires_in: config.adminTokenTtl })
  t.equal((await call(app, a.json().access_token, 'GET', '/api/v1/users')).statusCode, 200)
})

t.test('introspection and revocation', async (t) => {
  const issued = (await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, user.email)))).json().access_token
  const noAuth = await post('introspect', `token=${issued}&client_id=${org.clientId}`)
  t.equal(noAuth.statusCode, 401, 'introspection needs the client secret')
  const active = await post('introspect', `token=${issued}`, basic(org.clientId, org.clientSecret))
  t.equal(active.statusCode, 200)
  t.match(active.json(), { active: true, client_id: org.clientId, sub: user.email, scope: 'user:all', user_id: user.id })
  const garbage = await post('introspect', 'token=abc', basic(org.clientId, org.clientSecret))
  t.same(garbage.json(), { active: false })
  const otherClient = (await call(app, org.adminToken, 'POST', '/api/v1/clients', { name: 'introspector' })).json()
  const foreign = await post('introspect', `token=${issued}`, basic(otherClient.id, otherClient.secret))
  t.same(foreign.json(), { active: false }, 'another client\'s token is inactive to it')
  const rev = await post('revoke', `token=${issued}&token_type_hint=access_token`, basic(org.clientId, org.clientSecret))
  t.equal(rev.statusCode, 200)
  t.equal(rev.body, '', 'no content (RFC 7009 §2.2), as openapi.yaml says')
  t.notOk(rev.headers['content-type'])
  const after = await post('introspect', `token=${issued}`, basic(org.clientId, org.clientSecret))
  t.same(after.json(), { active: false })
  t.equal((await call(app, issued, 'GET', '/api/v1/self')).statusCode, 401, 'the REST API refuses a revoked token')
  const unknownRevoke = await post('revoke', 'token=whatever', basic(org.clientId, org.clientSecret))
  t.equal(unknownRevoke.statusCode, 200, 'revoking an unknown token answers 200')
})

t.test('metadata, and org discovery by host', async (t) => {
  const meta = await app.inject({ url: `/.well-known/oauth-authorization-server/api/v1/oauth2/${org.orgName}` })
  t.equal(meta.statusCode, 200)
  const issuer = `${config.publicUrl}/api/v1/oauth2/${org.orgName}`
  t.match(meta.json(), { issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, introspection_endpoint: `${issuer}/introspect`, revocation_endpoint: `${issuer}/revoke` })
  t.equal((await app.inject({ url: '/.well-known/oauth-authorization-server/api/v1/oauth2/nope' })).statusCode, 404)
  const ping = await app.inject({ url: '/auth/ping', headers: { host: `${org.orgName}.localhost:3000` } })
  t.equal(ping.statusCode, 302)
  const loc = new URL(ping.headers.location as string)
  t.match(loc.pathname, new RegExp(`oauth2/${org.orgName}/login$`))
  t.ok(loc.search.length > 1, 'the query is not empty')
  t.notMatch(loc.search, /token=/)
  const root = await app.inject({ url: '/?token=abc', headers: { host: `${org.orgName}.localhost` } })
  t.equal(root.statusCode, 302)
  t.notMatch(new URL(root.headers.location as string).search, /token=/, 'even when the original query had one')
  const login = await app.inject({ url: loc.pathname + loc.search })
  t.equal(login.statusCode, 200, 'the login page answers an anonymous GET')
  t.match(login.headers['content-type'], /text\/html/)
  const api = await app.inject({ url: '/health/live', headers: { host: 'localhost:3000' } })
  t.equal(api.statusCode, 200, 'the API host itself is not redirected')
})

t.test('a change made elsewhere (another instance, the CLI) reaches this instance within one second', async (t) => {
  const { user: carol } = await org.newUser({ public_key: pem(alice.publicKey) })
  t.equal((await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, carol.email)))).statusCode, 200)
  const next = generateKeyPairSync('rsa', { modulusLength: 2048 })
  // Straight to the database, as another instance would write it: this instance's cache is not told.
  await app.ctx.db.updateTable('users').set({ public_key: pem(next.publicKey) }).where('id', '=', carol.id).execute()
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const old = await post('token', ascliForm(org.clientId, await ascliAssertion(alice.privateKey, org.clientId, carol.email)))
  t.equal(old.json().error, 'invalid_grant', 'after one second the old key is refused')
  const fresh = await post('token', ascliForm(org.clientId, await ascliAssertion(next.privateKey, org.clientId, carol.email)))
  t.equal(fresh.statusCode, 200, 'and the new one works')
})

t.test('introspection: an expired token and another organization\'s token are inactive', async (t) => {
  const auth = basic(org.clientId, org.clientSecret)
  const expired = await org.tokenFor(user, 'user:all', -30)
  const res = await post('introspect', `token=${expired}`, auth)
  t.same(res.json(), { active: false }, 'expired')
  const other = await newOrg(ta)
  const foreign = await other.tokenFor(other.admin, 'admin:all')
  const res2 = await post('introspect', `token=${foreign}`, auth)
  t.same(res2.json(), { active: false }, 'another organization\'s token')
  const fresh = await org.tokenFor(user)
  const res3 = await post('introspect', `token=${fresh}`, auth)
  t.equal(res3.json().active, true, 'while this org\'s live token of this client is active')
})

t.test('hostile input gets an OAuth error, never a 500', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const unsigned = (claims: Record<string, unknown>) =>
    `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.AAAA`
  const claims = { iss: org.clientId, sub: user.email, aud: 'https://api.asperafiles.com/api/v1/oauth2/token', exp: now + 600 }
  for (const grantType of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const res = await post('token', `client_id=${org.clientId}&grant_type=${grantType}`)
    t.equal(res.statusCode, 400, `grant_type=${grantType}: 400`)
    t.equal(res.json().error, 'unsupported_grant_type', `grant_type=${grantType}: unsupported_grant_type, not Object's property`)
  }
  const cases: Array<[string, string, Record<string, string>, number, string]> = [
    ['a NUL in the Basic client id (form-encoded)', 'grant_type=x', basic('a%00b', 'secret'), 401, 'invalid_client'],
    ['a raw NUL in the Basic client id', 'grant_type=x', basic('a\u0000b', 'secret'), 401, 'invalid_client'],
    ['a client id of a shape no client has', 'client_id=a.b%2Fc&grant_type=x', {}, 401, 'invalid_client'],
    ['a NUL in sub (before any signature check)', ascliForm(org.clientId, unsigned({ ...claims, sub: 'a\u0000b' })), {}, 400, 'invalid_grant'],
    ['a NUL in jti', ascliForm(org.clientId, unsigned({ ...claims, jti: 'z\u0000y' })), {}, 400, 'invalid_grant'],
    ['a NUL in iss', ascliForm(org.clientId, unsigned({ ...claims, iss: org.clientId + '\u0000' })), {}, 400, 'invalid_grant'],
    ['a control character in org', ascliForm(org.clientId, unsigned({ ...claims, org: 'x\u0007' })), {}, 400, 'invalid_grant'],
    ['a NUL in aud', ascliForm(org.clientId, unsigned({ ...claims, aud: ['a\u0000'] })), {}, 400, 'invalid_grant'],
    ['a NUL in the client_id sent with an Origin (CORS check)', 'client_id=%00&grant_type=x', { origin: 'https://x.example.com' }, 400, 'invalid_request']
  ]
  for (const [label, payload, headers, status, error] of cases) {
    const res = await post('token', payload, headers)
    t.equal(res.statusCode, status, `${label}: ${status}`)
    t.equal(res.json().error, error, `${label}: ${error}`)
  }
})
