import { generateKeyPairSync, randomUUID } from 'node:crypto'
import t from 'tap'
import { buildTestApp, call, newOrg, pem } from '../helpers/app.js'
import { ascliAssertion, ascliForm, signAssertion, tutorialAssertion } from '../helpers/assertions.js'
import { oauthPoster } from '../helpers/oauth.js'

// Configured rules: jti required, only one extra audience, no leeway.
const ta = await buildTestApp(t, { TOKEN_RATE_LIMIT_PER_MINUTE: '0', REQUIRE_JTI: 'true', ASSERTION_AUDIENCES: 'https://only.example/token', ASSERTION_LEEWAY: '0' })
const { app, config } = ta
const org = await newOrg(ta)
const post = oauthPoster(app, org.orgName)

const userKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const globalKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const adminKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const { user } = await org.newUser({ public_key: pem(userKey.publicKey) })
const { user: keyless } = await org.newUser()
await call(app, org.adminToken, 'PUT', `/api/v1/users/${org.admin.id}`, { public_key: pem(adminKey.publicKey) })
await call(app, org.adminToken, 'PUT', `/api/v1/clients/${org.clientId}`, { jwt_grant_enabled: true })

const own = (key: typeof userKey.privateKey, sub: string, aud: string, extra: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000)
  return signAssertion(key, { iss: org.clientId, sub, aud, exp: now + 300, iat: now, jti: randomUUID(), ...extra }, { alg: 'RS256' })
}

t.test('REQUIRE_JTI refuses an assertion without jti; ASSERTION_AUDIENCES replaces the AoC audiences', async (t) => {
  const noJti = await post('token', ascliForm(org.clientId, await tutorialAssertion(userKey.privateKey, org.clientId, user.email, 'https://only.example/token')))
  t.equal(noJti.json().error, 'invalid_grant')
  t.match(noJti.json().error_description, /jti/)
  const aocAud = await post('token', ascliForm(org.clientId, await ascliAssertion(userKey.privateKey, org.clientId, user.email)))
  t.equal(aocAud.json().error, 'invalid_grant', 'the AoC audience is no longer accepted')
  for (const aud of ['https://only.example/token', `${config.publicUrl}/api/v1/oauth2/${org.orgName}/token`, `${config.publicUrl}/api/v1/oauth2/${org.orgName}`]) {
    const res = await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud)))
    t.equal(res.statusCode, 200, `aud ${aud}`)
  }
})

t.test('the global key signs for any eligible user once set, and not after it is removed', async (t) => {
  const aud = 'https://only.example/token'
  const before = await post('token', ascliForm(org.clientId, await own(globalKey.privateKey, keyless.email, aud)))
  t.equal(before.json().error, 'invalid_grant', 'no global key yet')
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${org.clientId}`, { public_key: pem(globalKey.publicKey) })).statusCode, 204)
  t.equal((await post('token', ascliForm(org.clientId, await own(globalKey.privateKey, keyless.email, aud)))).statusCode, 200, 'a user without a key, via the global key')
  t.equal((await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud)))).statusCode, 200, 'the user\'s own key still works')
  t.equal((await call(app, org.adminToken, 'PUT', `/api/v1/clients/${org.clientId}`, { public_key: null })).statusCode, 204)
  t.equal((await post('token', ascliForm(org.clientId, await own(globalKey.privateKey, keyless.email, aud)))).json().error, 'invalid_grant', 'refused on the very next request')
})

t.test('only listed users: directly or through a group', async (t) => {
  const aud = 'https://only.example/token'
  await call(app, org.adminToken, 'PUT', `/api/v1/clients/${org.clientId}`, { whitelist_enabled: true })
  t.equal((await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud)))).json().error, 'invalid_grant', 'unlisted')
  const group = (await call(app, org.adminToken, 'POST', '/api/v1/groups', { name: 'listed' })).json()
  await call(app, org.adminToken, 'POST', '/api/v1/group_memberships', { group_id: group.id, member_type: 'user', member_id: user.id })
  const auth = (await call(app, org.adminToken, 'POST', '/api/v1/client_authorizations', { client_id: org.clientId, entity_type: 'group', entity_id: group.id })).json()
  t.equal((await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud)))).statusCode, 200, 'listed through its group')
  await call(app, org.adminToken, 'DELETE', `/api/v1/client_authorizations/${auth.id}`)
  await call(app, org.adminToken, 'POST', '/api/v1/client_authorizations', { client_id: org.clientId, entity_type: 'user', entity_id: user.id })
  t.equal((await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud)))).statusCode, 200, 'listed directly')
  await call(app, org.adminToken, 'PUT', `/api/v1/clients/${org.clientId}`, { whitelist_enabled: false })
})

t.test('node scopes: user scope for a known node; admin scope needs owner_access, an admin and the client flag', async (t) => {
  const aud = 'https://only.example/token'
  await call(app, org.adminToken, 'POST', '/api/v1/nodes', { name: 'n1', url: 'https://node1.example.com', access_key: 'ak-node1' })
  const userNode = await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud), 'node.ak-node1:user:all'))
  t.equal(userNode.statusCode, 200)
  t.equal(userNode.json().scope, 'node.ak-node1:user:all')
  t.equal((await post('token', ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud), 'node.unknown:user:all'))).json().error, 'invalid_scope')
  const adminScope = 'node.ak-node1:admin:all'
  const noOwner = await post('token', ascliForm(org.clientId, await own(adminKey.privateKey, org.admin.email, aud), adminScope))
  t.equal(noOwner.json().error, 'invalid_scope', 'without owner_access')
  const noFlag = await post('token', `${ascliForm(org.clientId, await own(adminKey.privateKey, org.admin.email, aud), adminScope)}&owner_access=true`)
  t.equal(noFlag.json().error, 'invalid_scope', 'client without admin_node_token_retrieval_enabled')
  await call(app, org.adminToken, 'PUT', `/api/v1/clients/${org.clientId}`, { admin_node_token_retrieval_enabled: true })
  const ok = await post('token', `${ascliForm(org.clientId, await own(adminKey.privateKey, org.admin.email, aud), adminScope)}&owner_access=true`)
  t.equal(ok.statusCode, 200, ok.body)
  t.match(ok.json(), { scope: adminScope, expires_in: config.adminTokenTtl })
  const notAdmin = await post('token', `${ascliForm(org.clientId, await own(userKey.privateKey, user.email, aud), adminScope)}&owner_access=true`)
  t.equal(notAdmin.json().error, 'invalid_scope', 'a plain user')
  t.equal((await call(app, ok.json().access_token, 'GET', '/api/v1/self')).statusCode, 403, 'a node token cannot call the REST API')
})

t.test('a deactivated user gets no token', async (t) => {
  const { user: dave } = await org.newUser({ public_key: pem(userKey.publicKey) })
  await call(app, org.adminToken, 'PUT', `/api/v1/users/${dave.id}`, { deactivated: true })
  t.equal((await post('token', ascliForm(org.clientId, await own(userKey.privateKey, dave.email, 'https://only.example/token')))).json().error, 'invalid_grant')
})
